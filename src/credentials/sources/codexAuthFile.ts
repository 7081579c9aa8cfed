import path from 'node:path';
import { Secret } from '../../../machines/secret';
import { PROVIDERS, keyHint } from '../../providers';
import { readJsonFile } from '../../storage/secureStore';
import { decodeJwtClaims, jwtExpiresAt } from './jwt';
import type { ApiKeyCredential, OAuthCredential, SourceFileResult, SourceReadOptions } from './types';
import { lazySchema, parseCredentialsFile, presentString } from './validate';

export const CODEX_AUTH_FILE = 'auth.json';
/** The id_token claim that holds the ChatGPT facts. */
export const OPENAI_AUTH_CLAIM = 'https://api.openai.com/auth';

/** Codex's auth.json as the Codex CLI writes it; unknown keys are tolerated (and other programs own them). */
const codexAuthSchema = lazySchema((z) =>
  z.looseObject({
    auth_mode: z.string().nullish(),
    OPENAI_API_KEY: z.string().nullish(),
    tokens: z
      .looseObject({
        id_token: z.string(),
        access_token: z.string(),
        refresh_token: z.string(),
        account_id: z.string().nullish(),
      })
      .nullish(),
    last_refresh: z.string().nullish(),
  }),
);

/** The ChatGPT subscription login in auth.json. `tier` is the id_token's `chatgpt_plan_type`. */
export interface ChatgptCredential extends OAuthCredential {
  readonly provider: 'openai';
  readonly idToken: Secret;
  /** `tokens.account_id`, else the id_token's `chatgpt_account_id`; `null` when neither is there. */
  readonly accountId: string | null;
}

export interface CodexAuth extends SourceFileResult {
  /** `auth_mode` as Codex wrote it (`chatgpt`, `apikey`...), or `null`. */
  readonly authMode: string | null;
  /** `OPENAI_API_KEY`; `null` when it is null, missing or empty. */
  readonly apiKey: (ApiKeyCredential & { readonly provider: 'openai' }) | null;
  /** The ChatGPT tokens; `null` when the file has none. */
  readonly chatgpt: ChatgptCredential | null;
  /** `last_refresh` (RFC 3339) as written, or `null`. */
  readonly lastRefresh: string | null;
}

function planFromClaims(claims: Record<string, unknown>): { plan: string | null; accountId: string | null } {
  const auth = claims[OPENAI_AUTH_CLAIM];
  if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) return { plan: null, accountId: null };
  const { chatgpt_plan_type: plan, chatgpt_account_id: accountId } = auth as Record<string, unknown>;
  return {
    plan: typeof plan === 'string' && plan !== '' ? plan : null,
    accountId: typeof accountId === 'string' && accountId !== '' ? accountId : null,
  };
}

/**
 * Throws `invalid-credentials-file` when `data` is not an auth.json this agentvisor reads (a field
 * of the wrong shape): a write must not leave such a file.
 *
 * @example checkCodexAuthContent(file, next);
 */
export function checkCodexAuthContent(file: string, data: Record<string, unknown>): void {
  parseCredentialsFile(file, codexAuthSchema(), data);
}

/**
 * Reads Codex's `<codexHome>/auth.json`. A missing file gives `null`. The API key and the ChatGPT
 * tokens come back as `Secret`s; the plan is read from the id_token's claims (no signature check);
 * an id_token that is not a readable JWT gives `tier: null` and a warning. A field of the wrong
 * type fails with `invalid-credentials-file` naming the field; loose permissions follow
 * `options.permissions` (default `'error'`).
 *
 * @example
 * const auth = await readCodexAuth(process.env.CODEX_HOME ?? path.join(os.homedir(), '.codex'), { permissions: 'warn' });
 * if (auth?.chatgpt) console.log(auth.chatgpt.tier, auth.chatgpt.hint);
 */
export async function readCodexAuth(codexHome: string, options: SourceReadOptions = {}): Promise<CodexAuth | null> {
  const file = path.resolve(codexHome, CODEX_AUTH_FILE);
  const content = await readJsonFile(file, { permissions: options.permissions, home: options.userHome });
  if (content === null) return null;
  const data = parseCredentialsFile(file, codexAuthSchema(), content.data);
  const warnings = [...content.warnings];
  const source = `file:${CODEX_AUTH_FILE}`;
  const spec = PROVIDERS.openai;

  const key = presentString(data.OPENAI_API_KEY);
  const apiKey =
    key === null
      ? null
      : Object.freeze({
          kind: 'api-key',
          provider: 'openai',
          source,
          file,
          secret: new Secret(key),
          hint: keyHint(key, spec.keyPrefix),
        } as const);

  let chatgpt: ChatgptCredential | null = null;
  const tokens = data.tokens;
  const access = presentString(tokens?.access_token);
  if (tokens && access !== null) {
    const claims = decodeJwtClaims(tokens.id_token);
    if (claims === null)
      warnings.push(
        `The id_token in credentials file ${file} is not a readable JWT; the ChatGPT plan is unknown. Run \`codex login\` if this persists.`,
      );
    const fromClaims = claims === null ? { plan: null, accountId: null } : planFromClaims(claims);
    const refresh = presentString(tokens.refresh_token);
    chatgpt = Object.freeze({
      kind: 'oauth',
      provider: 'openai',
      source,
      file,
      secret: new Secret(access),
      hint: keyHint(access, spec.keyPrefix),
      refreshToken: refresh === null ? null : new Secret(refresh),
      idToken: new Secret(tokens.id_token),
      expiresAt: jwtExpiresAt(access),
      tier: fromClaims.plan,
      scopes: Object.freeze([]),
      accountId: presentString(tokens.account_id) ?? fromClaims.accountId,
    } as const);
  }

  return Object.freeze({
    file,
    warnings: Object.freeze(warnings),
    authMode: presentString(data.auth_mode),
    apiKey,
    chatgpt,
    lastRefresh: presentString(data.last_refresh),
  });
}

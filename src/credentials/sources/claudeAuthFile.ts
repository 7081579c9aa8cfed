import path from 'node:path';
import { Secret } from '../../../machines/secret';
import { AgentvisorError } from '../../errors';
import { PROVIDERS, keyHint } from '../../providers';
import { readJsonFile } from '../../storage/secureStore';
import type { ApiKeyCredential, OAuthCredential, SourceFileResult, SourceReadOptions } from './types';
import { lazySchema, parseCredentialsFile, parseRfc3339, presentString } from './validate';

export const CLAUDE_AUTH_FILE = 'claude_auth.json';
/** The `schema_version` this agentvisor writes and understands. A file without one is version 1 (the seed's shape). */
export const CLAUDE_AUTH_SCHEMA_VERSION = 1;

/** The seed's claude_auth.json (beside Codex's auth.json), plus our optional `schema_version`. Unknown keys are tolerated. */
const claudeAuthSchema = lazySchema((z) => {
  const rfc3339 = z.string().refine((text) => parseRfc3339(text) !== null, { message: 'is not an RFC 3339 date-time' });
  return z.looseObject({
    schema_version: z.number().int().min(1).optional(),
    ANTHROPIC_API_KEY: z.string().nullish(),
    oauth_tokens: z
      .looseObject({
        access_token: z.string(),
        refresh_token: z.string().nullish(),
        expires_at: rfc3339.nullish(),
        subscription_tier: z.string().nullish(),
        scope: z.string().nullish(),
      })
      .nullish(),
    subscription_info: z.looseObject({}).nullish(),
    last_refresh: z.union([z.string(), z.number()]).nullish(),
    preferred_mode: z.string().nullish(),
  });
});

/** The seed's values for `preferred_mode`; other strings are passed through as written. */
export type ClaudePreferredMode = 'MaxSubscription' | 'ProSubscription' | 'ApiKey';

export interface ClaudeAuth extends SourceFileResult {
  /** The file's `schema_version`, 1 when it has none. */
  readonly schemaVersion: number;
  /** `ANTHROPIC_API_KEY`; `null` when it is null, missing or empty. */
  readonly apiKey: (ApiKeyCredential & { readonly provider: 'claude' }) | null;
  /** `oauth_tokens`; `tier` is `subscription_tier`, `scopes` the space-separated `scope`. */
  readonly oauth: (OAuthCredential & { readonly provider: 'claude' }) | null;
  /** `subscription_info` as written (non-secret account facts), or `null`. */
  readonly subscriptionInfo: Readonly<Record<string, unknown>> | null;
  /** `last_refresh` as written (the seed wrote RFC 3339 text), or `null`. */
  readonly lastRefresh: string | number | null;
  readonly preferredMode: ClaudePreferredMode | (string & {}) | null;
}

/**
 * Throws `invalid-credentials-file` (`schema-version-too-new`) for a file a newer agentvisor wrote;
 * returns the file's version. Every reader and writer of claude_auth.json checks it first.
 *
 * @example checkClaudeAuthSchemaVersion(file, data);
 */
export function checkClaudeAuthSchemaVersion(file: string, data: Record<string, unknown>): number {
  const version = data.schema_version;
  // Checked before the shape: a newer version may have changed it.
  if (typeof version === 'number' && Number.isInteger(version) && version > CLAUDE_AUTH_SCHEMA_VERSION) {
    throw new AgentvisorError(
      'invalid-credentials-file',
      `Credentials file ${file} has schema_version ${version}, but this agentvisor understands only up to ${CLAUDE_AUTH_SCHEMA_VERSION}. ` +
        `A newer agentvisor wrote it: upgrade agentvisor (npm install agentvisor@latest). The file was left as it is.`,
      {
        details: {
          file,
          reason: 'schema-version-too-new',
          schemaVersion: version,
          supportedSchemaVersion: CLAUDE_AUTH_SCHEMA_VERSION,
        },
      },
    );
  }
  return typeof version === 'number' ? version : CLAUDE_AUTH_SCHEMA_VERSION;
}

/**
 * Throws `invalid-credentials-file` when `data` is not a claude_auth.json this agentvisor reads (a
 * newer `schema_version`, or a field of the wrong shape): a write must not leave such a file.
 *
 * @example checkClaudeAuthContent(file, next);
 */
export function checkClaudeAuthContent(file: string, data: Record<string, unknown>): void {
  checkClaudeAuthSchemaVersion(file, data);
  parseCredentialsFile(file, claudeAuthSchema(), data);
}

/**
 * Reads agentvisor's (and the seed's) `<codexHome>/claude_auth.json`. A missing file gives `null`.
 * The API key and OAuth tokens come back as `Secret`s. A field of the wrong type (or an
 * `expires_at` that is not an RFC 3339 date-time) fails with `invalid-credentials-file` naming the
 * field; a `schema_version` newer than this agentvisor knows fails with `invalid-credentials-file`
 * (`details.reason: 'schema-version-too-new'`).
 *
 * @example
 * const auth = await readClaudeAuth(codexHome);
 * if (auth?.oauth && (auth.oauth.expiresAt ?? Infinity) > Date.now()) useToken(auth.oauth.secret);
 */
export async function readClaudeAuth(codexHome: string, options: SourceReadOptions = {}): Promise<ClaudeAuth | null> {
  const file = path.resolve(codexHome, CLAUDE_AUTH_FILE);
  const content = await readJsonFile(file, { permissions: options.permissions, home: options.userHome });
  if (content === null) return null;
  checkClaudeAuthSchemaVersion(file, content.data);
  const data = parseCredentialsFile(file, claudeAuthSchema(), content.data);
  const source = `file:${CLAUDE_AUTH_FILE}`;
  const spec = PROVIDERS.claude;

  const key = presentString(data.ANTHROPIC_API_KEY);
  const apiKey =
    key === null
      ? null
      : Object.freeze({
          kind: 'api-key',
          provider: 'claude',
          source,
          file,
          secret: new Secret(key),
          hint: keyHint(key, spec.keyPrefix),
        } as const);

  const tokens = data.oauth_tokens;
  const access = presentString(tokens?.access_token);
  let oauth: ClaudeAuth['oauth'] = null;
  if (tokens && access !== null) {
    const refresh = presentString(tokens.refresh_token);
    const expires = presentString(tokens.expires_at);
    oauth = Object.freeze({
      kind: 'oauth',
      provider: 'claude',
      source,
      file,
      secret: new Secret(access),
      hint: keyHint(access, spec.keyPrefix),
      refreshToken: refresh === null ? null : new Secret(refresh),
      expiresAt: expires === null ? null : parseRfc3339(expires),
      tier: presentString(tokens.subscription_tier),
      scopes: Object.freeze((tokens.scope ?? '').split(/\s+/).filter((s) => s !== '')),
    } as const);
  }

  const info = data.subscription_info;
  return Object.freeze({
    file,
    warnings: Object.freeze([...content.warnings]),
    schemaVersion: data.schema_version ?? CLAUDE_AUTH_SCHEMA_VERSION,
    apiKey,
    oauth,
    subscriptionInfo: info === null || info === undefined ? null : Object.freeze({ ...info }),
    lastRefresh: typeof data.last_refresh === 'string' ? presentString(data.last_refresh) : (data.last_refresh ?? null),
    preferredMode: presentString(data.preferred_mode),
  });
}

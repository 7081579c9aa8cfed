import os from 'node:os';
import path from 'node:path';
import { Secret } from '../../../machines/secret';
import { PROVIDERS, keyHint } from '../../providers';
import { readJsonFile } from '../../storage/secureStore';
import type { EnvSource, OAuthCredential, SourceFileResult, SourceReadOptions } from './types';
import { lazySchema, parseCredentialsFile, presentString } from './validate';

export const CLAUDE_CODE_CREDENTIALS_FILE = '.credentials.json';

/**
 * Claude Code's own folder: `$CLAUDE_CONFIG_DIR` when set and not blank, else `~/.claude`.
 *
 * @example defaultClaudeHome({}, '/home/me') // '/home/me/.claude'
 */
export function defaultClaudeHome(env: EnvSource = process.env, userHome: string = os.homedir()): string {
  const dir = env.CLAUDE_CONFIG_DIR;
  return dir !== undefined && dir.trim() !== '' ? dir : path.join(userHome, '.claude');
}

/** Claude Code's .credentials.json; other top-level keys (`mcpOAuth`...) are tolerated. */
const claudeCodeSchema = lazySchema((z) =>
  z.looseObject({
    claudeAiOauth: z
      .looseObject({
        accessToken: z.string(),
        refreshToken: z.string().nullish(),
        expiresAt: z.number().finite().nonnegative().nullish(),
        scopes: z.array(z.string()).nullish(),
        subscriptionType: z.string().nullish(),
        rateLimitTier: z.string().nullish(),
      })
      .nullish(),
  }),
);

export interface ClaudeCodeOAuthCredential extends OAuthCredential {
  readonly provider: 'claude';
  /** `rateLimitTier` as written, or `null`. */
  readonly rateLimitTier: string | null;
}

export interface ClaudeCodeCredentials extends SourceFileResult {
  /** `claudeAiOauth`; `tier` is `subscriptionType`. `null` when the file has no login (or an empty access token). */
  readonly oauth: ClaudeCodeOAuthCredential | null;
}

/**
 * Reads Claude Code's `<claudeHome>/.credentials.json` (on Linux and Windows; macOS keeps it in the
 * Keychain). A missing file gives `null`. The tokens come back as `Secret`s; a field of the wrong
 * type fails with `invalid-credentials-file` naming the field.
 *
 * @example
 * const creds = await readClaudeCodeCredentials(defaultClaudeHome());
 * if (creds?.oauth) console.log(creds.oauth.tier, new Date(creds.oauth.expiresAt ?? 0));
 */
export async function readClaudeCodeCredentials(
  claudeHome: string,
  options: SourceReadOptions = {},
): Promise<ClaudeCodeCredentials | null> {
  const file = path.resolve(claudeHome, CLAUDE_CODE_CREDENTIALS_FILE);
  const content = await readJsonFile(file, { permissions: options.permissions, home: options.userHome });
  if (content === null) return null;
  const oauth = claudeCodeLogin(content.data, { file, source: `file:${CLAUDE_CODE_CREDENTIALS_FILE}` });
  return Object.freeze({ file, warnings: Object.freeze([...content.warnings]), oauth });
}

/**
 * The login in Claude Code's credentials JSON, from its file or its macOS Keychain item (the same
 * shape): `claudeAiOauth`, checked like the file; `null` when it holds none. `where` names the
 * origin in errors and in the credential's `file` and `source`.
 *
 * @example claudeCodeLogin(JSON.parse(itemText), { file: 'keychain:Claude Code-credentials', source: 'keychain:Claude Code-credentials' })
 */
export function claudeCodeLogin(
  content: Readonly<Record<string, unknown>>,
  where: { readonly file: string; readonly source: string },
): ClaudeCodeOAuthCredential | null {
  const { file, source } = where;
  const data = parseCredentialsFile(file, claudeCodeSchema(), content);
  const login = data.claudeAiOauth;
  const access = presentString(login?.accessToken);
  let oauth: ClaudeCodeOAuthCredential | null = null;
  if (login && access !== null) {
    const refresh = presentString(login.refreshToken);
    oauth = Object.freeze({
      kind: 'oauth',
      provider: 'claude',
      source,
      file,
      secret: new Secret(access),
      hint: keyHint(access, PROVIDERS.claude.keyPrefix),
      refreshToken: refresh === null ? null : new Secret(refresh),
      expiresAt: login.expiresAt ?? null,
      tier: presentString(login.subscriptionType),
      scopes: Object.freeze([...(login.scopes ?? [])]),
      rateLimitTier: presentString(login.rateLimitTier),
    } as const);
  }
  return oauth;
}

import path from 'node:path';
import { AgentvisorError } from '../errors';
import { updateJsonFile } from '../storage/secureStore';
import type { JsonRecord } from '../storage/secureStore';
import { CLAUDE_AUTH_FILE, CLAUDE_AUTH_SCHEMA_VERSION } from '../credentials/sources/claudeAuthFile';
import type { LoginTokens } from './pkceLoginTypes';

export interface SaveClaudeLoginOptions {
  /** `subscription_tier` (`max`, `pro`...). @default the login's own `tier`; omitted when neither says */
  readonly tier?: string;
  /** A symlinked file must resolve inside this folder. Default `os.homedir()`. */
  readonly userHome?: string;
  readonly lockTimeoutMs?: number;
}

/**
 * Stores a login's tokens as `oauth_tokens` in `<home>/claude_auth.json` (home: the folder,
 * usually `$CODEX_HOME`) with `schema_version: 1`, and its tier as `subscription_tier` (what ranks
 * a Max login as Max): a locked, atomic 0600 write that keeps every
 * other top-level key. `oauth_tokens` is replaced as a whole (a new login is a new credential).
 * A file with a newer `schema_version` is refused (`invalid-credentials-file`) and left as it is.
 *
 * @example
 * await saveClaudeLogin(process.env.CODEX_HOME ?? path.join(os.homedir(), '.codex'), tokens, { tier: 'max' });
 */
export async function saveClaudeLogin(
  home: string,
  tokens: LoginTokens,
  options: SaveClaudeLoginOptions = {},
): Promise<{ file: string; warnings: readonly string[] }> {
  const file = path.resolve(home, CLAUDE_AUTH_FILE);
  const oauth: JsonRecord = { access_token: tokens.accessToken.reveal() };
  if (tokens.refreshToken !== null) oauth.refresh_token = tokens.refreshToken.reveal();
  if (tokens.expiresAt !== null) oauth.expires_at = new Date(tokens.expiresAt).toISOString();
  const tier = options.tier ?? tokens.tier;
  if (typeof tier === 'string') oauth.subscription_tier = tier;
  oauth.scope = tokens.scope;
  const { warnings } = await updateJsonFile(
    file,
    (current) => {
      const version = current?.schema_version;
      if (typeof version === 'number' && version > CLAUDE_AUTH_SCHEMA_VERSION) {
        const message =
          `Credentials file ${file} has schema_version ${version}, but this agentvisor writes ${CLAUDE_AUTH_SCHEMA_VERSION}. ` +
          'Upgrade agentvisor (npm install agentvisor@latest). The file was left as it is.';
        throw new AgentvisorError('invalid-credentials-file', message, {
          details: {
            file,
            reason: 'schema-version-too-new',
            schemaVersion: version,
            supportedSchemaVersion: CLAUDE_AUTH_SCHEMA_VERSION,
          },
        });
      }
      return { ...(current ?? {}), schema_version: CLAUDE_AUTH_SCHEMA_VERSION, oauth_tokens: oauth };
    },
    { home: options.userHome, lockTimeoutMs: options.lockTimeoutMs },
  );
  return { file, warnings };
}

import type { CredentialSourceId } from './credentialTypes';
import type { CredentialSource } from './credentialSource';
import { envSource, optionsSource } from './liveSources';
import { claudeAuthFileSource, claudeCodeSource, codexAuthFileSource } from './storedSources';

/**
 * Every credential source by id; `CREDENTIAL_SOURCES` is their default order of precedence.
 *
 * @example CREDENTIAL_SOURCE_BY_ID.env.lookedAt('claude'); // 'ANTHROPIC_API_KEY, CLAUDE_API_KEY, CLAUDE_CODE_OAUTH_TOKEN'
 */
export const CREDENTIAL_SOURCE_BY_ID: Readonly<Record<CredentialSourceId, CredentialSource>> = {
  options: optionsSource,
  env: envSource,
  'claude-auth-file': claudeAuthFileSource,
  'codex-auth-file': codexAuthFileSource,
  'claude-code': claudeCodeSource,
};

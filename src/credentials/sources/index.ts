export { readCodexAuth, checkCodexAuthContent, CODEX_AUTH_FILE, OPENAI_AUTH_CLAIM } from './codexAuthFile';
export type { CodexAuth, ChatgptCredential } from './codexAuthFile';
export {
  readClaudeAuth,
  checkClaudeAuthSchemaVersion,
  checkClaudeAuthContent,
  CLAUDE_AUTH_FILE,
  CLAUDE_AUTH_SCHEMA_VERSION,
} from './claudeAuthFile';
export type { ClaudeAuth, ClaudePreferredMode } from './claudeAuthFile';
export { readClaudeCodeCredentials, defaultClaudeHome, CLAUDE_CODE_CREDENTIALS_FILE } from './claudeCodeCredentials';
export type { ClaudeCodeCredentials, ClaudeCodeOAuthCredential } from './claudeCodeCredentials';
export { decodeJwtClaims } from './jwt';
export type {
  ApiKeyCredential,
  CredentialKind,
  OAuthCredential,
  SourceCredential,
  SourceFileResult,
  SourceReadOptions,
} from './types';

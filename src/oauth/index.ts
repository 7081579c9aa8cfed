export { createTokenRefresher } from './refresh';
export type {
  AccessTokenResult,
  RefreshedTokens,
  StoredTokens,
  TokenRefresher,
  TokenRefresherOptions,
} from './refresh';
export { authorizationCodeGrantBody, requestAuthorizationCodeGrant, requestRefreshGrant } from './tokenEndpoint';
export type {
  AuthorizationCodeGrantRequest,
  FetchLike,
  GrantedTokens,
  GrantOutcome,
  OAuthAccount,
  OAuthOrganization,
  RefreshGrantRequest,
} from './tokenEndpoint';
export { claudeAuthTokens, claudeCodeTokens, codexTokens } from './formats';
export {
  CLAUDE_CODE_REFRESH_LOCK,
  CLAUDE_CODE_STORAGE_WRITE,
  claudeCodeLocks,
  takeClaudeCodeRefreshLock,
  takeClaudeCodeWriteLock,
} from './claudeCodeLocks';
export type { OwnerLock, OwnerLocks } from './claudeCodeLocks';
export type { TokenFileFormat } from './formats';
export { CLAUDE_OAUTH_DEFAULTS, REDIRECT_HOSTS, saveClaudeLogin, startPkceLogin } from './pkceLogin';
export type { LoginTokens, PkceLogin, PkceLoginOptions, SaveClaudeLoginOptions } from './pkceLogin';
export { CLAUDE_PROFILE_URL, defaultProfileUrl, loginTier, subscriptionTierOf } from './claudeProfile';
export type { LoginTierRequest, TierSource } from './claudeProfile';

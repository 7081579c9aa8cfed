export { createTokenRefresher } from './refresh';
export type { AccessTokenResult, RefreshedTokens, StoredTokens, TokenRefresher, TokenRefresherOptions } from './refresh';
export { requestRefreshGrant } from './tokenEndpoint';
export type { FetchLike, GrantedTokens, GrantOutcome, RefreshGrantRequest } from './tokenEndpoint';
export { claudeAuthTokens, claudeCodeTokens, codexTokens } from './formats';
export type { TokenFileFormat } from './formats';

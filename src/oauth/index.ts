export { createTokenRefresher } from './refresh';
export type { AccessTokenResult, RefreshedTokens, StoredTokens, TokenRefresher, TokenRefresherOptions } from './refresh';
export { authorizationCodeGrantBody, requestAuthorizationCodeGrant, requestRefreshGrant } from './tokenEndpoint';
export type { AuthorizationCodeGrantRequest, FetchLike, GrantedTokens, GrantOutcome, OAuthAccount, OAuthOrganization, RefreshGrantRequest } from './tokenEndpoint';
export { claudeAuthTokens, claudeCodeTokens, codexTokens } from './formats';
export type { TokenFileFormat } from './formats';
export { CLAUDE_OAUTH_DEFAULTS, saveClaudeLogin, startPkceLogin } from './pkceLogin';
export type { LoginTokens, PkceLogin, PkceLoginOptions, SaveClaudeLoginOptions } from './pkceLogin';

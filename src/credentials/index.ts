export { createEnvAuthenticator, findApiKey } from './envCredentials';
export { createCredentialResolver, credentialFiles, CREDENTIAL_SOURCES, CLAUDE_OAUTH_ENV, DEFAULT_CLAUDE_OAUTH } from './credentialResolver';
export type { CredentialResolver, CredentialResolverOptions, CredentialSourceId, FoundCredential, LoadReport, OAuthRefreshOptions, SourceProblem } from './credentialResolver';
export type { Authenticate, EnvCredentialOptions, EnvSource } from './envCredentials';
export { readJsonFile, updateJsonFile, removeKeys } from './secureStore';
export type { JsonFileContent, JsonRecord, PermissionPolicy, ReadJsonFileOptions, RemoveKeysOptions, RemoveKeysResult, UpdateJsonFileOptions } from './secureStore';
export * from './sources';
export * from './keyFormat';
export * from './verifyKey';

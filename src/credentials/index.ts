export { createEnvAuthenticator, findApiKey } from './envCredentials';
export { createCredentialResolver, credentialFiles } from './credentialResolver';
export {
  CREDENTIAL_SOURCES,
  CLAUDE_OAUTH_ENV,
  ANTHROPIC_AUTH_TOKEN_ENV,
  CHATGPT_ENV,
  DEFAULT_CLAUDE_OAUTH,
  DEFAULT_OPENAI_OAUTH,
} from './credentialTypes';
export type {
  Authenticate,
  CredentialResolver,
  CredentialResolverOptions,
  CredentialSourceId,
  DescribedCredential,
  EnvSource,
  FoundCredential,
  LoadReport,
  OAuthRefreshOptions,
  SourceProblem,
} from './credentialTypes';
export type { EnvCredentialOptions } from './envCredentials';
export { readJsonFile, updateJsonFile, removeKeys } from '../storage/secureStore';
export type {
  JsonFileContent,
  JsonRecord,
  PermissionPolicy,
  ReadJsonFileOptions,
  RemoveKeysOptions,
  RemoveKeysResult,
  UpdateJsonFileOptions,
} from '../storage/secureStore';
export * from './sources';
export * from './keyFormat';
export * from './verifyKey';
export {
  CREDENTIAL_CLASSES,
  PROVIDER_PRIORITIES,
  checkProviderPriority,
  credentialClass,
  rankProviders,
} from './providerPriority';
export type { CredentialClass, ProviderPriority } from './providerPriority';
export { STORED_KEYS_FILE, forgetStoredKey, isStoredKey, readStoredKey, recordStoredKey } from './storedKeyRecord';
export type { StoredKeyRecord } from './storedKeyRecord';
export { CREDENTIAL_SOURCE_BY_ID } from './credentialSourceById';
export { envSource, optionsSource } from './liveSources';
export { claudeAuthFileSource, claudeCodeSource, codexAuthFileSource } from './storedSources';
export type {
  CredentialSource,
  LiveCredentialSource,
  LiveValue,
  SourceLoad,
  SourceLoadContext,
  StoredCredentialSource,
} from './credentialSource';

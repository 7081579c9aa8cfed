export { createEnvAuthenticator, findApiKey } from './envCredentials';
export type { Authenticate, EnvCredentialOptions, EnvSource } from './envCredentials';
export { readJsonFile, updateJsonFile, removeKeys } from './secureStore';
export type { JsonFileContent, JsonRecord, PermissionPolicy, ReadJsonFileOptions, RemoveKeysOptions, RemoveKeysResult, UpdateJsonFileOptions } from './secureStore';
export * from './sources';

export { createEnvAuthenticator, findApiKey } from './envCredentials';
export type { Authenticate, EnvCredentialOptions, EnvSource } from './envCredentials';

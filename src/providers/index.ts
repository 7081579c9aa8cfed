export { AGENT_QUIET_ENV, PROVIDERS, keyHint, maskKeyLike } from './providerRegistry';
export type { ProviderSpec } from './providerRegistry';
export { PROVIDER_IDS, isProviderId } from '../../machines/providers';
export type { ProviderId } from '../../machines/providers';
export * from './failures';

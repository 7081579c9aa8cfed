export { SimulatedProvider } from './simulatedProvider';
export type { CompletionRequest, CompletionResult, SimulatedProviderOptions } from './simulatedProvider';
export { seededRandom, randomInt } from './random';
export { startProviderApiFake, FAKE_ROUTES } from './providerApiFake';
export type { ProviderApiFake, ProviderApiFakeOptions, FakeRequestRecord, FakeRoute } from './providerApiFake';
export { fakeStep, FAKE_FAULTS, DEFAULT_FAKE_USAGE, DEFAULT_FAKE_TEXT } from './fakeScript';
export type { FakeStep, FakeScript, FakeFault, FakeUsage, FakeModelRequest, FakeAuthScheme, FakeReplyStep, FakeErrorStep, FakeCutStep, FakeTruncateStep, FakeStreamErrorStep } from './fakeScript';
export { providerErrorAnswer } from './fakeErrors';
export type { ProviderErrorAnswer } from './fakeErrors';

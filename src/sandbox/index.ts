export { SimulatedProvider } from './simulatedProvider';
export type { CompletionRequest, CompletionResult, SimulatedProviderOptions } from './simulatedProvider';
export { seededRandom, randomInt } from './random';

export { SimulatedProvider } from './simulatedProvider';
export type { CompletionRequest, CompletionResult, SimulatedProviderOptions } from './simulatedProvider';
export { seededRandom, randomInt } from './random';
export { startProviderApiFake, FAKE_ROUTES } from './providerApiFake';
export type { ProviderApiFake, ProviderApiFakeOptions, FakeRequestRecord, FakeRoute } from './providerApiFake';
export { fakeStep, FAKE_FAULTS, DEFAULT_FAKE_USAGE, DEFAULT_FAKE_TEXT } from './fakeScript';
export type {
  FakeStep,
  FakeScript,
  FakeFault,
  FakeUsage,
  FakeModelRequest,
  FakeAuthScheme,
  FakeReplyStep,
  FakeToolCallStep,
  FakeToolAction,
  FakeErrorStep,
  FakeCutStep,
  FakeTruncateStep,
  FakeStreamErrorStep,
} from './fakeScript';
export { editFileScript, runawayScript, toolTurnScript, SIDE_REQUEST_ALLOW } from './fakeToolScripts';
export type { EditFileScriptOptions, RunawayScriptOptions, ToolTurnScriptOptions } from './fakeToolScripts';
export { viewRequest } from './fakeRequestView';
export type { ModelApi, RequestView } from './fakeRequestView';
export { offeredTools, resolveToolCall } from './fakeToolCall';
export type { OfferedTool, ResolvedToolCall } from './fakeToolCall';
export { providerErrorAnswer } from './fakeErrors';
export type { ProviderErrorAnswer } from './fakeErrors';
export { throttlingScript, SERVER_THROTTLE_MESSAGE } from './fakeThrottle';
export type { ThrottlingScriptOptions } from './fakeThrottle';

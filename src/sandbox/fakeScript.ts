import type { ProviderId } from '../../machines/providers';

/**
 * What the provider API fake does with one model request (`POST /v1/messages`, `/v1/responses`,
 * `/v1/chat/completions`). Steps are provider-neutral: the fake renders each in the wire format of
 * the provider that was called.
 */
export type FakeStep =
  FakeReplyStep | FakeToolCallStep | FakeErrorStep | FakeCutStep | FakeTruncateStep | FakeStreamErrorStep;

/** Token counts a reply reports. Input and output are what agents budget on; the rest is detail. */
export interface FakeUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Anthropic `cache_read_input_tokens`, OpenAI `input_tokens_details.cached_tokens`. @default 0 */
  readonly cachedInputTokens?: number;
  /** Anthropic `cache_creation_input_tokens`. @default 0 */
  readonly cacheCreationInputTokens?: number;
  /** OpenAI `output_tokens_details.reasoning_tokens`. @default 0 */
  readonly reasoningTokens?: number;
}

interface StepTiming {
  /** Wait this long before answering at all (ms). @default 0 */
  readonly delayMs?: number;
}

/** A successful answer, streamed when the request asked for a stream. */
export interface FakeReplyStep extends StepTiming {
  readonly type: 'reply';
  /** @default 'pong' */
  readonly text?: string;
  /** @default DEFAULT_FAKE_USAGE */
  readonly usage?: FakeUsage;
  /** Extra response headers (rate-limit headers on success, for example). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * What a tool call asks the agent to do, provider-neutral; the fake picks the tool the request
 * offers (Claude Code: `Write` / `Bash`; Codex: its `exec` tool running `tools.apply_patch` /
 * `tools.exec_command`). A relative `path` is taken from the agent's working directory as the
 * request states it. `tool` names a tool of the request outright: an object `input` becomes a
 * function call (Anthropic `tool_use`), a string the input of a freeform custom tool.
 */
export type FakeToolAction =
  | { readonly kind: 'write'; readonly path: string; readonly content: string }
  | { readonly kind: 'shell'; readonly command: string }
  | { readonly kind: 'tool'; readonly name: string; readonly input: string | Readonly<Record<string, unknown>> };

/**
 * A successful answer that calls one tool (Anthropic `tool_use` with `stop_reason: 'tool_use'`,
 * OpenAI Responses `custom_tool_call` / `function_call`, chat `tool_calls`), streamed when the
 * request asked for a stream.
 */
export interface FakeToolCallStep extends StepTiming {
  readonly type: 'toolCall';
  readonly action: FakeToolAction;
  /** Text the answer holds before the call (its own content block / output item). @default none */
  readonly text?: string;
  /** @default DEFAULT_FAKE_USAGE */
  readonly usage?: FakeUsage;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Faults named by what they mean; the fake picks the real status, body and headers per provider. */
export const FAKE_FAULTS = [
  'unauthorized',
  'forbidden',
  'rateLimited',
  'insufficientQuota',
  'overloaded',
  'serverError',
  'unavailable',
  'notFound',
  'invalidRequest',
] as const;

export type FakeFault = (typeof FAKE_FAULTS)[number];

/** An HTTP error answer with the provider's real error body and headers. */
export interface FakeErrorStep extends StepTiming {
  readonly type: 'error';
  readonly fault: FakeFault;
  /** Overrides the status the fault maps to (a 502 as `serverError`, for example). */
  readonly status?: number;
  /** Overrides the provider's usual message. */
  readonly message?: string;
  /** Sent as `retry-after` (seconds) with rate limits and overloads. @default 1 for rateLimited, none otherwise */
  readonly retryAfterSeconds?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The connection is destroyed without an answer (after `delayMs`). */
export interface FakeCutStep extends StepTiming {
  readonly type: 'cut';
}

/**
 * The answer starts (status 200, first events) and stops before its terminal event
 * (`message_stop`, `response.completed`, `[DONE]`); a non-streamed JSON body is cut in half.
 * `ending` says how: `end` closes the response normally, `destroy` resets the socket, `hang` keeps
 * it open until the client gives up or the fake closes.
 */
export interface FakeTruncateStep extends StepTiming {
  readonly type: 'truncate';
  /** @default 'end' */
  readonly ending?: 'end' | 'destroy' | 'hang';
  /** @default 'pong' */
  readonly text?: string;
  readonly usage?: FakeUsage;
}

/**
 * Status 200 and a stream that reports an error partway: Anthropic's `event: error`, OpenAI's
 * `response.failed`. Non-streamed requests get the fault as an HTTP error instead.
 */
export interface FakeStreamErrorStep extends StepTiming {
  readonly type: 'streamError';
  readonly fault: FakeFault;
  readonly message?: string;
}

export type FakeScript = FakeStep | ((request: FakeModelRequest) => FakeStep | undefined);

/** What a script function sees of a model request. */
export interface FakeModelRequest {
  readonly provider: ProviderId;
  /** The request's sequence number among all requests the fake received (from 1). */
  readonly seq: number;
  readonly model: string | undefined;
  readonly stream: boolean;
  readonly authScheme: FakeAuthScheme;
  /**
   * Model requests of this provider the fake is answering right now, this one included (a request
   * counts from its arrival until its answer is finished or its connection closes).
   */
  readonly inFlight: number;
  /** The parsed request body (`undefined` when it could not be read). */
  readonly body: unknown;
  /**
   * Tool results the conversation already holds: Anthropic `tool_result` blocks in user messages,
   * Responses `function_call_output` / `custom_tool_call_output` input items, chat `tool` messages.
   */
  readonly toolResults: number;
  /** The text of the last of them. */
  readonly lastToolResult: string | undefined;
  /** Every text of the request (system prompt, instructions, messages, tool results), one per line. */
  readonly text: string;
  /** The agent's working directory as the request states it (Claude Code's "Primary working directory: …", Codex's `<cwd>`). */
  readonly workingDirectory: string | undefined;
  /**
   * Names of the tools the request offers (Codex: also those listed in `additional_tools` namespaces).
   * Empty for side requests such as Claude Code's auto-mode safety check.
   */
  readonly tools: readonly string[];
}

export type FakeAuthScheme = 'x-api-key' | 'bearer' | 'none';

export const DEFAULT_FAKE_USAGE: FakeUsage = Object.freeze({ inputTokens: 10, outputTokens: 5 });
export const DEFAULT_FAKE_TEXT = 'pong';

/**
 * Shorthands for the steps tests use most.
 *
 * @example
 * fake.enqueue('claude', fakeStep.error('rateLimited', { retryAfterSeconds: 3 }), fakeStep.reply({ text: 'ok' }));
 * fake.enqueue('openai', fakeStep.toolCall({ kind: 'shell', command: 'true' }, { usage: { inputTokens: 50, outputTokens: 9 } }));
 */
export const fakeStep = {
  reply: (options: Omit<FakeReplyStep, 'type'> = {}): FakeReplyStep => ({ type: 'reply', ...options }),
  toolCall: (action: FakeToolAction, options: Omit<FakeToolCallStep, 'type' | 'action'> = {}): FakeToolCallStep => ({
    type: 'toolCall',
    action,
    ...options,
  }),
  error: (fault: FakeFault, options: Omit<FakeErrorStep, 'type' | 'fault'> = {}): FakeErrorStep => ({
    type: 'error',
    fault,
    ...options,
  }),
  cut: (options: Omit<FakeCutStep, 'type'> = {}): FakeCutStep => ({ type: 'cut', ...options }),
  truncate: (options: Omit<FakeTruncateStep, 'type'> = {}): FakeTruncateStep => ({ type: 'truncate', ...options }),
  streamError: (fault: FakeFault, options: Omit<FakeStreamErrorStep, 'type' | 'fault'> = {}): FakeStreamErrorStep => ({
    type: 'streamError',
    fault,
    ...options,
  }),
} as const;

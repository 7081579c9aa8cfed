import type { ProviderId } from '../../machines/providers';
import { checkResetContext, classifyFailureText, safeFailureMessage } from './failureClassifier';
import type { ProviderFailure, ProviderFailureKind, TokenUsage } from './failureClassifier';
import { isUsageLimitText } from './usageLimitText';

/** How an agent CLI run ended: its usage, or why it failed. */
export type AgentRunOutcome =
  { readonly ok: true; readonly provider: ProviderId; readonly usage: TokenUsage } | ProviderFailure;

/** The clock (epoch ms) for reset times, and the zone to assume for times printed without one. */
export interface AgentRunContext {
  readonly now: number;
  readonly timeZone?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parsed(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function tokens(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function plainFailure(
  kind: ProviderFailureKind,
  provider: ProviderId,
  message: string,
  usage: TokenUsage | null = null,
): ProviderFailure {
  const failure: ProviderFailure = {
    ok: false,
    kind,
    provider,
    status: null,
    retryAfterMs: null,
    resetAt: null,
    throttle: null,
    message: safeFailureMessage(message),
  };
  return withUsage(failure, usage);
}

/** Usage is attached to a failure only when the run reported some: a failed run can still have spent tokens. */
function withUsage(failure: ProviderFailure, usage: TokenUsage | null): ProviderFailure {
  return usage !== null && usage.inputTokens + usage.outputTokens > 0 ? { ...failure, usage } : failure;
}

/**
 * A Claude `usage` object as the budget counts it: input counts fresh, cache-write and cache-read
 * tokens (all three are input the provider billed and limited); null when it is not one.
 *
 * @example claudeUsage({ input_tokens: 10, cache_read_input_tokens: 90, output_tokens: 5 }) // { inputTokens: 100, outputTokens: 5 }
 */
export function claudeUsage(usage: unknown): TokenUsage | null {
  if (!isRecord(usage)) return null;
  const input = tokens(usage.input_tokens);
  const output = tokens(usage.output_tokens);
  if (input === null || output === null) return null;
  const cacheWrite = tokens(usage.cache_creation_input_tokens) ?? 0;
  const cacheRead = tokens(usage.cache_read_input_tokens) ?? 0;
  return { inputTokens: input + cacheWrite + cacheRead, outputTokens: output };
}

/**
 * Reads the one JSON object `claude -p --output-format json` prints (as text or parsed). A success
 * is `{ ok: true, usage }` with input = `input_tokens + cache_creation_input_tokens +
 * cache_read_input_tokens`. Failures: `is_error` results by `api_error_status` and the `result`
 * text; `error_max_turns` is `invalid-request` (the task needs more turns than it was given);
 * no result object, a success without usage, or `error_during_execution` with nothing recognisable
 * is `truncated`. A "success" whose whole answer is a usage-limit notice and that produced no
 * output tokens is `quota`.
 *
 * @example
 * classifyClaudeCodeResult({ type: 'result', subtype: 'success', is_error: true, api_error_status: 401,
 *   result: 'Invalid API key · Fix external API key', usage: { input_tokens: 0, output_tokens: 0 } }, { now: Date.now() }).kind // 'auth'
 */
export function classifyClaudeCodeResult(result: unknown, context: AgentRunContext): AgentRunOutcome {
  checkResetContext('classifyClaudeCodeResult', context?.now, context?.timeZone);
  const value = parsed(typeof result === 'string' ? result.trim() : result);
  if (!isRecord(value) || value.type !== 'result')
    return plainFailure(
      'truncated',
      'claude',
      'Claude Code printed no result object: the run ended before it finished',
    );
  const usage = claudeUsage(value.usage);
  const text = typeof value.result === 'string' ? value.result : '';
  const subtype = typeof value.subtype === 'string' ? value.subtype : null;
  const status =
    typeof value.api_error_status === 'number' &&
    Number.isInteger(value.api_error_status) &&
    value.api_error_status >= 400 &&
    value.api_error_status <= 599
      ? value.api_error_status
      : null;
  const textContext = { provider: 'claude' as const, now: context.now, timeZone: context.timeZone };

  if (value.is_error !== true && subtype === 'success') {
    if (usage === null)
      return plainFailure(
        'truncated',
        'claude',
        'Claude Code reported success without usage: the result is incomplete',
      );
    if (usage.outputTokens === 0 && text.length <= 200 && isUsageLimitText(text))
      return withUsage(classifyFailureText({ ...textContext, text, status }), usage);
    return { ok: true, provider: 'claude', usage };
  }
  if (subtype === 'error_max_turns')
    return plainFailure(
      'invalid-request',
      'claude',
      'Claude Code stopped at its turn limit (--max-turns) before finishing the task',
      usage,
    );
  const unknownKind: ProviderFailureKind = subtype === 'error_during_execution' ? 'truncated' : 'server';
  const failure = classifyFailureText({
    ...textContext,
    text: text === '' ? `Claude Code run failed (${subtype ?? 'no subtype'})` : text,
    status,
    unknownKind,
  });
  return withUsage(failure, usage);
}

/**
 * A Codex `usage` object as the budget counts it: its `input_tokens` already include
 * `cached_input_tokens`, and `output_tokens` include reasoning; null when it is not one.
 *
 * @example codexUsage({ input_tokens: 12, cached_input_tokens: 4, output_tokens: 3 }) // { inputTokens: 12, outputTokens: 3 }
 */
export function codexUsage(usage: unknown): TokenUsage | null {
  if (!isRecord(usage)) return null;
  const input = tokens(usage.input_tokens);
  const output = tokens(usage.output_tokens);
  return input === null || output === null ? null : { inputTokens: input, outputTokens: output };
}

function messageOf(value: unknown): string | null {
  return isRecord(value) && typeof value.message === 'string' && value.message.trim() !== '' ? value.message : null;
}

interface CodexRun {
  open: boolean;
  terminal: 'completed' | 'failed' | null;
  failedMessage: string | null;
  lastError: string | null;
  usage: TokenUsage;
  usageMissing: boolean;
}

function readCodexEvents(events: readonly unknown[]): CodexRun {
  const run: CodexRun = {
    open: false,
    terminal: null,
    failedMessage: null,
    lastError: null,
    usage: { inputTokens: 0, outputTokens: 0 },
    usageMissing: false,
  };
  for (const event of events) {
    if (!isRecord(event)) continue;
    if (event.type === 'turn.started') run.open = true;
    else if (event.type === 'error') run.lastError = messageOf(event) ?? run.lastError;
    else if (event.type === 'turn.failed')
      Object.assign(run, { open: false, terminal: 'failed', failedMessage: messageOf(event.error) });
    else if (event.type === 'turn.completed') {
      const usage = codexUsage(event.usage);
      run.open = false;
      run.terminal = 'completed';
      if (usage === null) run.usageMissing = true;
      else
        run.usage = {
          inputTokens: run.usage.inputTokens + usage.inputTokens,
          outputTokens: run.usage.outputTokens + usage.outputTokens,
        };
    }
  }
  return run;
}

/**
 * Reads the JSON lines of `codex exec --json` (the whole stdout, or its lines as text or parsed
 * objects; lines that are not JSON are skipped). A run whose last turn ended with `turn.completed`
 * is a success with the usage of every turn (input = `input_tokens`, which already include
 * `cached_input_tokens`; output = `output_tokens`, which include reasoning). `turn.failed` is
 * classified from its message (else the last `error` event's). A run whose last turn has neither
 * is `truncated`, unless an `error` event said something recognisable (then that kind).
 *
 * @example
 * classifyCodexEvents([
 *   '{"type":"error","message":"unexpected status 401 Unauthorized: Missing bearer"}',
 *   '{"type":"turn.failed","error":{"message":"unexpected status 401 Unauthorized: Missing bearer"}}',
 * ], { now: Date.now() }).kind // 'auth'
 */
export function classifyCodexEvents(lines: string | readonly unknown[], context: AgentRunContext): AgentRunOutcome {
  checkResetContext('classifyCodexEvents', context?.now, context?.timeZone);
  const items = typeof lines === 'string' ? lines.split(/\r?\n/) : Array.isArray(lines) ? lines : [];
  const run = readCodexEvents(items.map((line) => parsed(typeof line === 'string' ? line.trim() : line)));
  const spent = run.usage;
  const textContext = { provider: 'openai' as const, now: context.now, timeZone: context.timeZone };
  if (run.terminal === 'completed' && !run.open) {
    if (run.usageMissing)
      return plainFailure(
        'truncated',
        'openai',
        'Codex reported turn.completed without usage: the result is incomplete',
        spent,
      );
    return { ok: true, provider: 'openai', usage: spent };
  }
  if (run.terminal === 'failed' && !run.open) {
    return withUsage(
      classifyFailureText({
        ...textContext,
        text: run.failedMessage ?? run.lastError ?? 'Codex turn failed without a message',
      }),
      spent,
    );
  }
  if (run.lastError !== null)
    return withUsage(classifyFailureText({ ...textContext, text: run.lastError, unknownKind: 'truncated' }), spent);
  return plainFailure(
    'truncated',
    'openai',
    'Codex ended before turn.completed or turn.failed: the run was cut off',
    spent,
  );
}

import { randomUUID } from 'node:crypto';
import { AgentvisorError, isAgentvisorError } from '../errors';
import type { ManagedAgent, Orchestrator } from '../orchestrator';
import type { ProviderFailure, ProviderId, TokenUsage } from '../providers';
import { abortableDelay } from './abortableDelay';
import { agentFailureReport } from './agentFailureReport';
import { admitTaskAgent, stoppedError } from './agentAdmission';
import { cliForProvider } from './agentCli';
import type { AgentChoice, AgentCliId } from './agentCli';
import { runAgentCli } from './agentCliRun';
import { createAgentHome } from './agentHome';
import type { AgentHome } from './agentHome';
import { DEFAULT_CLAUDE_MAX_RETRIES } from './claudeCodeCli';
import type { AgentTaskError, AgentTaskFallback, AgentTaskOptions, AgentTaskResult } from './agentTaskTypes';

export const DEFAULT_TASK_TIMEOUT_MS = 600_000;
const DEFAULT_MAX_OUTPUT_BYTES = 16 << 20;
/** A safety bound: the failure policy ends a session long before this many runs. */
const MAX_RUNS = 12;

interface Checked {
  readonly agent: AgentChoice;
  readonly agentId: string;
  readonly timeoutMs: number;
  readonly waitMs: number;
}

function invalid(field: string, message: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { field } });
}

function check(options: AgentTaskOptions): Checked {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'runAgentTask needs options such as { task, estimatedTokens }');
  if (typeof options.task !== 'string' || options.task.trim() === '' || options.task.includes('\0')) throw invalid('task', 'task must be a non-empty string without NUL characters');
  const agent = options.agent ?? 'auto';
  if (!['auto', 'claude-code', 'codex'].includes(agent)) throw invalid('agent', `agent must be 'auto', 'claude-code' or 'codex', got ${JSON.stringify(agent)}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 24 * 3_600_000) throw invalid('timeoutMs', 'timeoutMs must be a whole number of milliseconds from 1 to 86400000');
  const waitMs = options.waitMs ?? 0;
  if (!Number.isInteger(waitMs) || waitMs < 0) throw invalid('waitMs', 'waitMs must be a whole number of milliseconds, 0 or more');
  return { agent, agentId: options.agentId ?? `task-${randomUUID().slice(0, 8)}`, timeoutMs, waitMs };
}

function taskError(error: unknown): AgentTaskError {
  if (isAgentvisorError(error)) {
    const usageLimit = error.details.usageLimit as AgentTaskError['usageLimit'];
    return { code: error.code, message: error.message, ...(usageLimit === undefined ? {} : { usageLimit }) };
  }
  return { code: 'agent-failed', message: `the task failed unexpectedly: ${error instanceof Error ? error.message : String(error)}` };
}

/** "claude-code on claude: overloaded (529) API Error: 529 Overloaded…", for error messages. */
function describeFailure(cli: AgentCliId, failure: ProviderFailure): string {
  const text = failure.message.length > 160 ? `${failure.message.slice(0, 159)}…` : failure.message;
  return `${cli} on ${failure.provider}: ${failure.kind}${failure.status === null ? '' : ` (${failure.status})`} ${text}`;
}

/** The provider a usage limit paused and when it resets: the orchestrator's pause, else the time the message named. */
function usageLimitOf(orch: Orchestrator, failure: ProviderFailure): { provider: ProviderId; resetAt: number } | undefined {
  const resetAt = orch.stats().providers[failure.provider].pausedUntil ?? failure.resetAt;
  return resetAt === null ? undefined : { provider: failure.provider, resetAt };
}

/** What to do, by the kind of the last failure. */
const ADVICE: Partial<Record<ProviderFailure['kind'], string>> = {
  auth: 'Check the credentials (agentvisor status) and log in again',
  quota: "The provider's usage limit or credit is spent: wait for its reset or add credit",
  'rate-limit': 'The providers are throttling: try again later or lower the concurrency',
  overloaded: 'The providers are overloaded: try again later',
  server: 'The providers are failing: try again later',
  network: 'The providers could not be reached: check the network and the base URLs',
  timeout: 'The providers did not answer in time: try again later',
  truncated: 'The answers were cut off: try again later',
};

/** Why the session ended on its own (stopped orchestrator, expired allocation, spent budget). */
async function endedSessionError(agent: ManagedAgent): Promise<AgentvisorError> {
  const settlement = await agent.release().catch(() => null);
  const reason = settlement?.reason ?? 'released';
  if (reason === 'stopped') return stoppedError(`task ${agent.id}`);
  if (reason === 'quota-exhausted') return new AgentvisorError('quota-exhausted', `task ${agent.id} used up its provider's daily budget and was ended: wait for the daily reset or raise the limit`);
  if (reason === 'expired') return new AgentvisorError('allocation-expired', `task ${agent.id}'s allocation expired while it ran: raise leaseMs for long tasks`);
  return new AgentvisorError('agent-released', `task ${agent.id}'s session ended (${reason}) before the task finished`);
}

/**
 * Runs one task through a real agent CLI under the orchestrator's limits:
 * 1. spawns a session (admission: budget, concurrency, circuit; then authentication);
 * 2. runs the CLI of the session's provider (claude → Claude Code, openai → Codex) with exactly
 *    `agent.env` plus PATH and a private temp HOME / CLAUDE_CONFIG_DIR / CODEX_HOME (0700, removed
 *    at the end);
 * 3. reads its output with the classifiers and reports the usage (of failed runs too) and any
 *    failure to the session: on `fallback` the same task runs through the other provider's CLI,
 *    on `retry` it runs again after the delay;
 * 4. releases the session (unused tokens go back) whatever happened.
 *
 * It resolves with the result object (architecture §6) and rejects only for malformed options
 * (`invalid-option`). Failures are `ok: false` with `error.code`: `agent-not-found` (no CLI),
 * `agent-failed` (a crash or the timeout), `no-provider` (every provider failed), `auth-failed`,
 * `quota-exhausted`, `invalid-request`, `stopped` (aborted) or an admission refusal
 * (`concurrency-limit`, `queue-full`, …).
 *
 * @example
 * const result = await runAgentTask(orch, { task: 'add a test for parseArgs', estimatedTokens: 50_000, cwd: repo });
 * if (!result.ok) console.error(`${result.error?.message} [${result.error?.code}]`);
 */
export async function runAgentTask(orch: Orchestrator, options: AgentTaskOptions): Promise<AgentTaskResult> {
  const checked = check(options);
  // The orchestrator's timers are unref'd (a host that forgets stop() can still exit): a task waiting
  // in its queue (for a slot, after a requeue, for a usage limit's reset) keeps the process alive itself.
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  try {
    return await runChecked(orch, options, checked);
  } finally {
    clearInterval(keepAlive);
  }
}

async function runChecked(orch: Orchestrator, options: AgentTaskOptions, checked: Checked): Promise<AgentTaskResult> {
  const started = Date.now();
  const emit = options.onEvent ?? (() => undefined);
  const hostEnv = options.hostEnv ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const spent = { inputTokens: 0, outputTokens: 0 };
  const fallbacks: AgentTaskFallback[] = [];
  const failures: string[] = [];
  let runs = 0;
  let provider: ProviderId | null = null;
  let cli: AgentCliId | null = null;
  let sessionId: string | null = null;

  const finish = (outcome: { result: string } | { error: unknown }): AgentTaskResult => ({
    ok: 'result' in outcome,
    agentId: checked.agentId,
    provider,
    agent: cli,
    sessionId,
    usage: { ...spent, totalTokens: spent.inputTokens + spent.outputTokens },
    fallbacks,
    result: 'result' in outcome ? outcome.result : null,
    runs,
    durationMs: Date.now() - started,
    ...('error' in outcome ? { error: taskError(outcome.error) } : {}),
  });

  let agent: ManagedAgent;
  try {
    const admissionSignal = options.admissionSignal === undefined ? options.signal : options.signal === undefined ? options.admissionSignal : AbortSignal.any([options.signal, options.admissionSignal]);
    agent = await admitTaskAgent(orch, { agent: checked.agent, agentId: checked.agentId, task: options.task, estimatedTokens: options.estimatedTokens, waitMs: checked.waitMs, ...(admissionSignal ? { signal: admissionSignal } : {}) });
  } catch (error) {
    return finish({ error });
  }
  // The time limit counts from admission: time in the queue is bounded by waitMs.
  const deadline = Date.now() + checked.timeoutMs;
  sessionId = agent.sessionId;
  provider = agent.provider;
  cli = cliForProvider(provider);
  emit({ type: 'admitted', agentId: agent.id, sessionId, provider, allocatedTokens: agent.allocatedTokens });

  /** Counts what a run spent; the session records it even when this throws quota-exhausted. */
  const record = (usage: TokenUsage | undefined): AgentvisorError | null => {
    if (usage === undefined || usage.inputTokens + usage.outputTokens === 0 || !agent.isLive) return null;
    spent.inputTokens += usage.inputTokens;
    spent.outputTokens += usage.outputTokens;
    try {
      agent.reportUsage(usage);
      return null;
    } catch (error) {
      return isAgentvisorError(error) ? error : new AgentvisorError('agent-failed', 'usage could not be reported');
    }
  };

  let home: AgentHome | null = null;
  try {
    home = createAgentHome(options.tempDir === undefined ? {} : { parent: options.tempDir });
    for (;;) {
      if (options.signal?.aborted === true) return finish({ error: stoppedError(`task ${agent.id}`) });
      if (!agent.isLive) return finish({ error: await endedSessionError(agent) });
      if (runs >= MAX_RUNS) return finish({ error: new AgentvisorError('agent-failed', `task ${agent.id} gave up after ${MAX_RUNS} runs: ${failures.slice(-3).join('; ')}`) });
      const remaining = deadline - Date.now();
      if (remaining <= 0) return finish({ error: new AgentvisorError('agent-failed', `task ${agent.id} did not finish within ${checked.timeoutMs / 1000} s: raise the timeout`, { details: { timedOut: true } }) });
      provider = agent.provider;
      cli = cliForProvider(provider);
      runs += 1;
      const run = runs;
      const runCli = cli;
      const runProvider = provider;
      let pid: number | undefined;
      const end = await runAgentCli({
        cli: runCli,
        provider: runProvider,
        task: options.task,
        agentEnv: agent.env,
        home,
        cwd,
        timeoutMs: remaining,
        maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
        killGraceMs: options.killGraceMs ?? 2000,
        claudeMaxRetries: options.claudeMaxRetries ?? DEFAULT_CLAUDE_MAX_RETRIES,
        hostEnv,
        ...(options.signal ? { signal: options.signal } : {}),
        onStart: (startedPid) => {
          pid = startedPid;
          if (startedPid !== undefined) emit({ type: 'run.started', agentId: agent.id, agent: runCli, provider: runProvider, pid: startedPid, run });
        },
      });
      const reading = end.type === 'read' ? end.reading : null;
      const outcome = end.type === 'error' ? end.outcome : reading?.type === 'provider-failure' ? reading.failure.kind : (reading?.type ?? 'agent-failure');
      if (pid !== undefined) emit({ type: 'run.ended', agentId: agent.id, agent: runCli, provider: runProvider, pid, run, exitCode: end.type === 'read' ? end.exitCode : null, durationMs: end.durationMs, outcome });
      if (end.type === 'error') return finish({ error: end.error });
      const read = end.reading;

      if (read.type === 'success') {
        const overBudget = record(read.usage);
        // The task is done and its usage counted; a budget the usage went past ends the session, not the result.
        if (overBudget !== null && !isAgentvisorError(overBudget, 'quota-exhausted')) return finish({ error: overBudget });
        return finish({ result: read.result });
      }
      if (read.type === 'agent-failure') {
        record(read.usage);
        return finish({ error: new AgentvisorError('agent-failed', `${read.message}: read the message above, check the CLI's installation and configuration`, { details: { cli: runCli, exitCode: end.exitCode } }) });
      }

      const { failure } = read;
      const overBudget = record(failure.usage);
      if (overBudget !== null) return finish({ error: overBudget });
      failures.push(describeFailure(runCli, failure));
      if (!agent.isLive) return finish({ error: await endedSessionError(agent) });
      let next;
      try {
        next = await agent.reportFailure(agentFailureReport(failure));
      } catch (error) {
        if (!isAgentvisorError(error)) throw error;
        // A usage limit with nowhere to go (no provider left, or the fallback could not authenticate): the task can run after the reset.
        const usageLimit = failure.throttle === 'usage-limit' && error.code !== 'invalid-request' ? usageLimitOf(orch, failure) : undefined;
        const advice = error.code === 'no-provider' ? (usageLimit ? `The usage limit of ${usageLimit.provider} resets at ${new Date(usageLimit.resetAt).toISOString()}` : ADVICE[failure.kind]) : undefined;
        const message = `${error.message.replace(/\.$/, '')}. Runs: ${failures.join('; ')}${advice === undefined ? '' : `. ${advice}`}`;
        return finish({ error: new AgentvisorError(error.code, message, { details: { ...error.details, ...(usageLimit ? { usageLimit } : {}) } }) });
      }
      if (next.action === 'fallback') {
        fallbacks.push({ from: next.from, to: next.to, reason: next.kind });
        emit({ type: 'fallback', agentId: agent.id, from: next.from, to: next.to, reason: next.kind });
        continue;
      }
      if (next.action === 'requeued') {
        // Throttled before doing any work: the session waited in the queue for a slot and is active again.
        emit({ type: 'requeued', agentId: agent.id, provider: next.provider, waitedMs: next.waitedMs, reason: next.kind });
        continue;
      }
      if (next.action !== 'retry') {
        // Any other answer means: run again now.
        emit({ type: 'retry', agentId: agent.id, provider: agent.provider, delayMs: 0, reason: failure.kind });
        continue;
      }
      emit({ type: 'retry', agentId: agent.id, provider: next.provider, delayMs: next.delayMs, reason: next.kind });
      if (next.delayMs >= deadline - Date.now()) {
        return finish({ error: new AgentvisorError('agent-failed', `task ${agent.id} would retry ${next.provider} in ${Math.ceil(next.delayMs / 1000)} s, past its time limit: raise the timeout. Runs: ${failures.join('; ')}`, { details: { timedOut: true } }) });
      }
      if (!(await abortableDelay(next.delayMs, options.signal))) return finish({ error: stoppedError(`task ${agent.id}`) });
    }
  } catch (error) {
    return finish({ error });
  } finally {
    home?.remove();
    if (agent.isLive) await agent.release().catch(() => undefined);
  }
}

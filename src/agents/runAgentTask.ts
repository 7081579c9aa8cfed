import { AgentvisorError, isAgentvisorError } from '../errors';
import type { ManagedAgent, Orchestrator } from '../orchestrator';
import type { ProviderId } from '../providers';
import { abortableDelay } from './abortableDelay';
import { agentFailureReport } from './agentFailureReport';
import { admitTaskAgent, stoppedError } from './agentAdmission';
import { cliForProvider } from './agentCli';
import type { AgentCliId } from './agentCli';
import { runAgentCli } from './agentCliRun';
import { checkOrchestrator, checkTaskOptions } from './checkTaskOptions';
import type { CheckedTaskOptions } from './checkTaskOptions';
import { createAgentHome } from './agentHome';
import type { AgentHome } from './agentHome';
import type { PermissionDenial } from './agentRunReading';
import { DEFAULT_CLAUDE_MAX_RETRIES } from './claudeCodeCli';
import { remainder } from './liveUsage';
import { TaskMeter } from './taskMeter';
import { describeFailure, endedSessionError, FAILURE_ADVICE, taskError, usageLimitOf } from './taskErrors';
import { openTaskWorkspace } from './taskWorkspace';
import type { TaskWorkspace } from './taskWorkspace';
import type { WorktreePlan } from './taskWorktree';
import type { AgentTaskFallback, AgentTaskOptions, AgentTaskResult } from './agentTaskTypes';

export { DEFAULT_TASK_TIMEOUT_MS } from './checkTaskOptions';

const DEFAULT_MAX_OUTPUT_BYTES = 16 << 20;
/** A safety bound: the failure policy ends a session long before this many runs. */
const MAX_RUNS = 12;

/**
 * Runs one task through a real agent CLI under the orchestrator's limits:
 * 1. with `worktree`, checks the repository and makes the task's worktree and branch (a repository
 *    that is dirty or already has the branch rejects with `invalid-workspace`, nothing created);
 * 2. spawns a session (admission: budget, concurrency, circuit; then authentication);
 * 3. runs the CLI of the session's provider (claude → Claude Code, openai → Codex) with the
 *    sandbox mode's permission flags, exactly `agent.env` plus PATH and a private temp HOME /
 *    CLAUDE_CONFIG_DIR / CODEX_HOME (0700, removed at the end), in a process group that dies
 *    with this process;
 * 4. counts usage as the CLI streams it (the ledger sees a run that is still going), stops the
 *    agent when the task passes `maxTokens` (`token-limit`) or the budget is gone
 *    (`quota-exhausted`), and renews the session's lease while the agent works;
 * 5. reads the end with the classifiers: on `fallback` the same task runs through the other
 *    provider's CLI, on `retry` it runs again after the delay;
 * 6. releases the session (unused tokens go back) and, with `worktree`, commits the agent's
 *    changes on its branch and removes the worktree, whatever happened.
 *
 * It resolves with the result object (architecture §6) and rejects only for malformed options
 * (`invalid-option`) or an unusable repository (`invalid-workspace`). Failures are `ok: false`
 * with `error.code`: `agent-not-found`, `agent-failed`, `no-provider`, `auth-failed`,
 * `quota-exhausted`, `token-limit`, `invalid-request`, `stopped` (aborted) or an admission
 * refusal (`concurrency-limit`, `queue-full`, …).
 *
 * @example
 * const result = await runAgentTask(orch, { task: 'add a test for parseArgs', estimatedTokens: 50_000, cwd: repo, maxTokens: 200_000 });
 * if (!result.ok) console.error(`${result.error?.message} [${result.error?.code}]`);
 */
export async function runAgentTask(orch: Orchestrator, options: AgentTaskOptions): Promise<AgentTaskResult> {
  checkOrchestrator('runAgentTask', orch);
  return runPlannedTask(orch, options, null);
}

/**
 * `runAgentTask` for a batch that checked its worktrees up front: `plan` (from `planWorktrees`)
 * covers this task's branch.
 *
 * @example await runPlannedTask(orch, { ...options, worktree: true }, plan);
 */
export async function runPlannedTask(
  orch: Orchestrator,
  options: AgentTaskOptions,
  plan: WorktreePlan | null,
): Promise<AgentTaskResult> {
  const checked = checkTaskOptions(options);
  const workspace = await openTaskWorkspace({
    cwd: options.cwd ?? process.cwd(),
    worktree: options.worktree === true,
    taskId: checked.agentId,
    task: options.task,
    plan,
    hostEnv: options.hostEnv ?? process.env,
  });
  // No keep-alive timer here: the orchestrator's KeepAlive holds the process while a spawn waits in
  // its queue (for a slot or a usage limit's reset) and while a requeued session waits.
  let result: AgentTaskResult | undefined;
  let thrown: unknown;
  try {
    result = await runChecked(orch, options, checked, workspace);
  } catch (error) {
    thrown = error;
  }
  // Whatever happened, the agent's work goes onto its branch (or its worktree is kept).
  const worktree = await workspace.finish();
  if (result === undefined) throw thrown;
  return worktree === null ? result : { ...result, worktree };
}

async function runChecked(
  orch: Orchestrator,
  options: AgentTaskOptions,
  checked: CheckedTaskOptions,
  workspace: TaskWorkspace,
): Promise<AgentTaskResult> {
  const started = Date.now();
  const emit = options.onEvent ?? (() => undefined);
  const hostEnv = options.hostEnv ?? process.env;
  const fallbacks: AgentTaskFallback[] = [];
  const failures: string[] = [];
  const denials: PermissionDenial[] = [];
  let meter: TaskMeter | null = null;
  let runs = 0;
  let provider: ProviderId | null = null;
  let cli: AgentCliId | null = null;
  let sessionId: string | null = null;

  const finish = (outcome: { result: string } | { error: unknown }): AgentTaskResult => {
    const spent = meter?.spent ?? { inputTokens: 0, outputTokens: 0 };
    return {
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
      sandbox: checked.sandbox,
      permissionDenials: denials,
      ...('error' in outcome ? { error: taskError(outcome.error) } : {}),
    };
  };

  let agent: ManagedAgent;
  try {
    const admissionSignal =
      options.admissionSignal === undefined
        ? options.signal
        : options.signal === undefined
          ? options.admissionSignal
          : AbortSignal.any([options.signal, options.admissionSignal]);
    agent = await admitTaskAgent(orch, {
      agent: checked.agent,
      agentId: checked.agentId,
      task: options.task,
      estimatedTokens: options.estimatedTokens,
      waitMs: checked.waitMs,
      ...(admissionSignal ? { signal: admissionSignal } : {}),
    });
  } catch (error) {
    return finish({ error });
  }
  // The time limit counts from admission: time in the queue is bounded by waitMs.
  const deadline = Date.now() + checked.timeoutMs;
  sessionId = agent.sessionId;
  provider = agent.provider;
  cli = cliForProvider(provider);
  const taskMeter = new TaskMeter(agent, checked.maxTokens);
  meter = taskMeter;
  emit({ type: 'admitted', agentId: agent.id, sessionId, provider, allocatedTokens: agent.allocatedTokens });
  // While the agent works the session stays: a long run with little usage must not lose its lease.
  const heartbeat = setInterval(() => agent.renewLease(), Math.max(10, Math.floor(agent.leaseMs / 3)));
  heartbeat.unref();

  let home: AgentHome | null = null;
  try {
    home = createAgentHome(options.tempDir === undefined ? {} : { parent: options.tempDir });
    for (;;) {
      if (options.signal?.aborted === true) return finish({ error: stoppedError(`task ${agent.id}`) });
      if (!agent.isLive) return finish({ error: await endedSessionError(agent) });
      if (runs >= MAX_RUNS)
        return finish({
          error: new AgentvisorError(
            'agent-failed',
            `task ${agent.id} gave up after ${MAX_RUNS} runs: ${failures.slice(-3).join('; ')}`,
          ),
        });
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        return finish({
          error: new AgentvisorError(
            'agent-failed',
            `task ${agent.id} did not finish within ${checked.timeoutMs / 1000} s: raise the timeout`,
            { details: { timedOut: true } },
          ),
        });
      provider = agent.provider;
      cli = cliForProvider(provider);
      runs += 1;
      const run = runs;
      const runCli = cli;
      const runProvider = provider;
      let pid: number | undefined;
      // Stops this run when the task passes its cap or the budget is gone.
      const runStop = new AbortController();
      const end = await runAgentCli({
        cli: runCli,
        provider: runProvider,
        task: options.task,
        agentEnv: agent.env,
        home,
        cwd: workspace.dir,
        sandbox: checked.sandbox,
        timeoutMs: remaining,
        maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
        killGraceMs: options.killGraceMs ?? 2000,
        claudeMaxRetries: options.claudeMaxRetries ?? DEFAULT_CLAUDE_MAX_RETRIES,
        hostEnv,
        signal: options.signal === undefined ? runStop.signal : AbortSignal.any([options.signal, runStop.signal]),
        onStart: (startedPid) => {
          pid = startedPid;
          if (startedPid !== undefined)
            emit({
              type: 'run.started',
              agentId: agent.id,
              agent: runCli,
              provider: runProvider,
              pid: startedPid,
              run,
            });
        },
        onUsage: (usage) => {
          if (runStop.signal.aborted) return;
          const stop = taskMeter.record(usage);
          const spent = taskMeter.spent;
          emit({
            type: 'usage',
            agentId: agent.id,
            provider: runProvider,
            inputTokens: spent.inputTokens,
            outputTokens: spent.outputTokens,
            totalTokens: taskMeter.totalTokens,
          });
          if (stop !== null) runStop.abort();
        },
      });
      const reading = end.type === 'read' ? end.reading : null;
      const cappedBy = runStop.signal.aborted ? taskMeter.stopError : null;
      const outcome =
        cappedBy !== null
          ? cappedBy.code
          : end.type === 'error'
            ? end.outcome
            : reading?.type === 'provider-failure'
              ? reading.failure.kind
              : (reading?.type ?? 'agent-failure');
      if (pid !== undefined)
        emit({
          type: 'run.ended',
          agentId: agent.id,
          agent: runCli,
          provider: runProvider,
          pid,
          run,
          exitCode: end.type === 'read' ? end.exitCode : null,
          durationMs: end.durationMs,
          outcome,
        });
      if (reading?.type === 'success') denials.push(...reading.permissionDenials);
      if (cappedBy !== null) {
        // Stopped for its cap or the budget: what the run printed after the last streamed line still counts.
        if (reading !== null)
          taskMeter.record(
            remainder(reading.type === 'provider-failure' ? reading.failure.usage : reading.usage, end.streamed),
          );
        return finish({ error: cappedBy });
      }
      if (end.type === 'error') return finish({ error: end.error });
      const read = end.reading;

      if (read.type === 'success') {
        const overBudget = taskMeter.record(remainder(read.usage, end.streamed));
        // The agent finished on its own and its usage is counted; a budget or cap its last figures went past ends the session, not the result.
        if (
          overBudget !== null &&
          !isAgentvisorError(overBudget, 'quota-exhausted') &&
          !isAgentvisorError(overBudget, 'token-limit')
        )
          return finish({ error: overBudget });
        return finish({ result: read.result });
      }
      if (read.type === 'agent-failure') {
        taskMeter.record(remainder(read.usage, end.streamed));
        return finish({
          error: new AgentvisorError(
            'agent-failed',
            `${read.message}: read the message above, check the CLI's installation and configuration`,
            { details: { cli: runCli, exitCode: end.exitCode } },
          ),
        });
      }

      const { failure } = read;
      const overBudget = taskMeter.record(remainder(failure.usage, end.streamed));
      if (overBudget !== null) return finish({ error: overBudget });
      failures.push(describeFailure(runCli, failure));
      if (!agent.isLive) return finish({ error: await endedSessionError(agent) });
      let next;
      try {
        next = await agent.reportFailure(agentFailureReport(failure));
      } catch (error) {
        if (!isAgentvisorError(error)) throw error;
        // A usage limit with nowhere to go (no provider left, or the fallback could not authenticate): the task can run after the reset.
        const usageLimit =
          failure.throttle === 'usage-limit' && error.code !== 'invalid-request'
            ? usageLimitOf(orch, failure)
            : undefined;
        const advice =
          error.code === 'no-provider'
            ? usageLimit
              ? `The usage limit of ${usageLimit.provider} resets at ${new Date(usageLimit.resetAt).toISOString()}`
              : FAILURE_ADVICE[failure.kind]
            : undefined;
        const message = `${error.message.replace(/\.$/, '')}. Runs: ${failures.join('; ')}${advice === undefined ? '' : `. ${advice}`}`;
        return finish({
          error: new AgentvisorError(error.code, message, {
            details: { ...error.details, ...(usageLimit ? { usageLimit } : {}) },
          }),
        });
      }
      if (next.action === 'fallback') {
        fallbacks.push({ from: next.from, to: next.to, reason: next.kind });
        emit({ type: 'fallback', agentId: agent.id, from: next.from, to: next.to, reason: next.kind });
        continue;
      }
      if (next.action === 'requeued') {
        // Throttled before doing any work: the session waited in the queue for a slot and is active again.
        emit({
          type: 'requeued',
          agentId: agent.id,
          provider: next.provider,
          waitedMs: next.waitedMs,
          reason: next.kind,
        });
        continue;
      }
      emit({ type: 'retry', agentId: agent.id, provider: next.provider, delayMs: next.delayMs, reason: next.kind });
      if (next.delayMs >= deadline - Date.now()) {
        return finish({
          error: new AgentvisorError(
            'agent-failed',
            `task ${agent.id} would retry ${next.provider} in ${Math.ceil(next.delayMs / 1000)} s, past its time limit: raise the timeout. ` +
              `Runs: ${failures.join('; ')}`,
            { details: { timedOut: true } },
          ),
        });
      }
      if (!(await abortableDelay(next.delayMs, options.signal)))
        return finish({ error: stoppedError(`task ${agent.id}`) });
    }
  } catch (error) {
    return finish({ error });
  } finally {
    clearInterval(heartbeat);
    // The home is removed while the session is released: both wait on the disk.
    const [removal] = await Promise.allSettled([
      home?.removeAsync(),
      agent.isLive ? agent.release().catch(() => undefined) : undefined,
    ]);
    // Once more, synchronously: what still fails is thrown, as before the removal was asynchronous.
    if (removal.status === 'rejected') home?.remove();
  }
}

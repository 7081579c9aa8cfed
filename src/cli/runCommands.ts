import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { DEFAULT_TASK_TIMEOUT_MS, parseAgentChoice, runAgentTask } from '../agents';
import type { AgentChoice, AgentTaskEvent, AgentTaskResult } from '../agents';
import { openCliObservability } from '../observability';
import { createOrchestrator } from '../orchestrator';
import type { Orchestrator, OrchestratorOptions, ProviderLimits } from '../orchestrator';
import { isProviderId } from '../providers';
import type { ProviderId } from '../providers';
import { cliSecretMasker, commandContext, note, redactSecrets } from './context';
import type { CommandContext } from './context';
import { watchProviderEvents } from './providerEventLines';

/** Exit code of a task that did not succeed (its error code is printed). */
export const EXIT_TASK_FAILED = 1;
/** Exit code of a batch that stopped because every provider it could use is paused by a usage limit (EX_TEMPFAIL: resume after the reset). */
export const EXIT_PAUSED = 75;
/** Exit code after Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;
/** The estimate `run` and `batch` use when none is given. */
export const DEFAULT_ESTIMATE = 50_000;

/**
 * A commander parser for whole numbers from `min` to `max`.
 *
 * @example new Option('--timeout <s>').argParser(wholeNumber(1, 86_400))
 */
export function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

/**
 * Reads `claude=3,openai=2` (per-provider numbers) for `--max-concurrent` / `--daily-limit`.
 *
 * @example parseProviderNumbers('claude=3,openai=2') // { claude: 3, openai: 2 }
 */
export function parseProviderNumbers(value: string): Partial<Record<ProviderId, number>> {
  const out: Partial<Record<ProviderId, number>> = {};
  for (const part of value.split(',')) {
    const match = /^\s*([a-z]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (match === null || !isProviderId(match[1])) throw new InvalidArgumentError('expected provider=number pairs such as claude=3,openai=2 (providers: claude, openai)');
    const n = Number(match[2]);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${match[1]}: the number is too large`);
    out[match[1]] = n;
  }
  return out;
}

/**
 * `--max-concurrent` and `--daily-limit` merged into orchestrator limits.
 *
 * @example limitsFrom({ claude: 3 }, { claude: 200_000 }) // { claude: { maxConcurrent: 3, dailyLimit: 200000 } }
 */
export function limitsFrom(maxConcurrent?: Partial<Record<ProviderId, number>>, dailyLimit?: Partial<Record<ProviderId, number>>): Partial<Record<ProviderId, ProviderLimits>> {
  const limits: Partial<Record<ProviderId, ProviderLimits>> = {};
  for (const provider of ['claude', 'openai'] as const) {
    const entry: { maxConcurrent?: number; dailyLimit?: number } = {};
    if (maxConcurrent?.[provider] !== undefined) entry.maxConcurrent = maxConcurrent[provider];
    if (dailyLimit?.[provider] !== undefined) entry.dailyLimit = dailyLimit[provider];
    if (Object.keys(entry).length > 0) limits[provider] = entry;
  }
  return limits;
}

/** A started orchestrator and how to end it (stop it, then close the metrics server and inspector). */
export interface CliOrchestrator {
  readonly orch: Orchestrator;
  close(): Promise<void>;
}

/**
 * The orchestrator `run` and `batch` use: the file ledger under `--home`, credentials from the real
 * sources (env, files under `--home`, Claude Code's folder) the way `status` reads them, base URLs from the env, the given
 * limits on top of the defaults, and the CLI's observability (logs on stderr, the audit trail by
 * default, `--metrics-port`, `--inspect`) with the process's secret masker.
 *
 * @example
 * const { orch, close } = await startCliOrchestrator(context, { claude: { maxConcurrent: 3 } });
 * try { await runAgentTask(orch, …); } finally { await close(); }
 */
export async function startCliOrchestrator(
  context: CommandContext,
  limits: Partial<Record<ProviderId, ProviderLimits>> = {},
  extra: Pick<OrchestratorOptions, 'adaptiveConcurrency'> = {},
): Promise<CliOrchestrator> {
  const observability = await openCliObservability(context, { auditByDefault: true, masker: cliSecretMasker });
  // The file ledger in the home folder: usage recorded by run and batch persists across invocations (`agentvisor quota`).
  const orch = createOrchestrator({ ...observability.orchestratorOptions, ...extra, home: context.home, claudeHome: context.claudeHome, env: process.env, limits, ledger: 'file' });
  try {
    await orch.start();
    const url = await observability.serve(orch);
    if (url !== null) note(`agentvisor: metrics at ${url}`);
  } catch (error) {
    await orch.stop();
    await observability.close();
    throw error;
  }
  return {
    orch,
    close: async () => {
      await orch.stop();
      await observability.close();
    },
  };
}

/**
 * One progress line for people (stderr) per task event.
 *
 * @example describeTaskEvent({ type: 'fallback', agentId: 't1', from: 'claude', to: 'openai', reason: 'overloaded' }) // 't1: claude failed (overloaded), falling back to openai'
 */
export function describeTaskEvent(event: AgentTaskEvent): string {
  switch (event.type) {
    case 'admitted':
      return `${event.agentId}: admitted on ${event.provider}, ${event.allocatedTokens.toLocaleString('en-US')} tokens allocated`;
    case 'run.started':
      return `${event.agentId}: ${event.agent} started (pid ${event.pid ?? '-'})`;
    case 'run.ended':
      return `${event.agentId}: ${event.agent} ended in ${(event.durationMs / 1000).toFixed(1)} s: ${event.outcome}`;
    case 'fallback':
      return `${event.agentId}: ${event.from} failed (${event.reason}), falling back to ${event.to}`;
    case 'retry':
      return `${event.agentId}: ${event.provider} failed (${event.reason}), retrying in ${(event.delayMs / 1000).toFixed(1)} s`;
    case 'requeued':
      return `${event.agentId}: ${event.provider} throttled it before any work (${event.reason}): it waited ${(event.waitedMs / 1000).toFixed(1)} s in the queue and runs again`;
  }
}

/**
 * The chain of CLIs a task went through.
 *
 * @example agentChain(result) // 'claude-code→codex'
 */
export function agentChain(result: AgentTaskResult): string {
  const cliOf = (p: ProviderId): string => (p === 'claude' ? 'claude-code' : 'codex');
  if (result.fallbacks.length === 0) return result.agent ?? '-';
  return [result.fallbacks[0]!.from, ...result.fallbacks.map((f) => f.to)].map(cliOf).join('→');
}

/**
 * Calls `onFirst` on the first Ctrl-C (SIGINT) and exits at once with 130 on the second. Returns
 * the function that removes the handler.
 *
 * @example const remove = onInterrupt(() => controller.abort()); try { … } finally { remove(); }
 */
export function onInterrupt(onFirst: () => void): () => void {
  let count = 0;
  const handler = (): void => {
    count += 1;
    if (count === 1) onFirst();
    else process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

function summaryLine(result: AgentTaskResult): string {
  const u = result.usage;
  const fallbacks = result.fallbacks.length === 0 ? 'no fallback' : `fallbacks: ${result.fallbacks.map((f) => `${f.from} → ${f.to} (${f.reason})`).join(', ')}`;
  return `${result.ok ? 'done' : 'failed'} on ${result.provider ?? '-'} with ${agentChain(result)}: ${u.totalTokens.toLocaleString('en-US')} tokens (${u.inputTokens.toLocaleString('en-US')} in, ${u.outputTokens.toLocaleString('en-US')} out); ${fallbacks}; ${(result.durationMs / 1000).toFixed(1)} s`;
}

interface RunOptions {
  readonly agent: string;
  readonly estimate: number;
  readonly timeout: number;
}

/**
 * `agentvisor run [--agent auto|claude|codex] [--estimate N] [--timeout S] <task…>`: one task
 * through a real agent CLI, admitted and authenticated by the orchestrator, falling back between
 * Claude Code and Codex. With `--json` the result object is the last stdout line; otherwise the
 * agent's answer goes to stdout and progress to stderr. Exit 0 on success, 1 when the task
 * failed (its error code printed), 130 after Ctrl-C.
 *
 * @example addRunCommand(program);
 */
export function addRunCommand(program: Command): void {
  program
    .command('run')
    .description('run one task through a real agent CLI (Claude Code or Codex) with credentials and limits applied, falling back between them')
    .addOption(new Option('--agent <agent>', 'the agent to start with (the other one takes over on a fallback)').choices(['auto', 'claude', 'claude-code', 'codex']).default('auto'))
    .option('--estimate <tokens>', 'tokens the task is expected to use (the admission estimate)', wholeNumber(1, 1_000_000_000), DEFAULT_ESTIMATE)
    .option('--timeout <seconds>', 'stop the task after this long (from admission)', wholeNumber(1, 86_400), DEFAULT_TASK_TIMEOUT_MS / 1000)
    .argument('<task...>', 'what the agent should do (words are joined with spaces)')
    .action(async (words: string[], opts: RunOptions, command: Command) => {
      const context = commandContext(command);
      const agent = parseAgentChoice(opts.agent) as AgentChoice;
      const { orch, close } = await startCliOrchestrator(context);
      // Usage-limit pauses and resumes (requeues show as task events).
      const unwatch = watchProviderEvents(orch, (line) => note(`agentvisor: ${line}`), { requeues: false });
      const controller = new AbortController();
      const removeHandler = onInterrupt(() => {
        note('agentvisor: stopping the agent (Ctrl-C again to quit at once)');
        controller.abort();
      });
      let result: AgentTaskResult;
      try {
        result = await runAgentTask(orch, {
          task: words.join(' '),
          agent,
          estimatedTokens: opts.estimate,
          timeoutMs: opts.timeout * 1000,
          signal: controller.signal,
          onEvent: (event) => note(`agentvisor: ${describeTaskEvent(event)}`),
        });
      } finally {
        removeHandler();
        unwatch();
        await close();
      }
      if (context.json) {
        process.stdout.write(`${redactSecrets(JSON.stringify(result))}\n`);
      } else if (result.ok) {
        process.stdout.write(`${redactSecrets(result.result ?? '')}\n`);
      }
      note(`agentvisor: ${summaryLine(result)}`);
      if (!result.ok && result.error) note(`agentvisor: ${result.error.message} [${result.error.code}]`);
      process.exitCode = result.ok ? 0 : controller.signal.aborted ? EXIT_INTERRUPTED : EXIT_TASK_FAILED;
    });
}

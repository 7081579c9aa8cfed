import { InvalidArgumentError, Option } from 'commander';
import { alreadyChecked } from '../schema/checkOptions';
import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_SANDBOX_MODE,
  DEFAULT_TASK_TIMEOUT_MS,
  SANDBOX_MODES,
  describeSandbox,
  parseAgentChoice,
  planWorktrees,
  runPlannedTask,
} from '../agents';
import type { AgentChoice, AgentTaskEvent, AgentTaskOptions, AgentTaskResult, SandboxMode } from '../agents';
import { AgentvisorError } from '../errors';
import { openCliObservability } from '../observability';
import { createOrchestrator } from '../orchestrator';
import type { Orchestrator, OrchestratorOptions, ProviderLimits } from '../orchestrator';
import { isProviderId } from '../providers';
import type { ProviderId } from '../providers';
import { cliSecretMasker, cliSettings, commandContext, note, redactSecrets } from './context';
import type { CommandContext } from './context';
import { watchProviderEvents } from './providerEventLines';
import { onStopSignals, stopSignalNote, sweepLeftoverHomes } from './stopSignals';
import { taskTextProblem } from '../agents/taskText';

/** Exit code of a task that did not succeed (its error code is printed). */
export const EXIT_TASK_FAILED = 1;
/** Exit code of a batch that stopped because every provider it could use is paused by a usage limit (EX_TEMPFAIL: resume after the reset). */
export const EXIT_PAUSED = 75;
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
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
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
    if (match === null || !isProviderId(match[1]))
      throw new InvalidArgumentError(
        'expected provider=number pairs such as claude=3,openai=2 (providers: claude, openai)',
      );
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
export function limitsFrom(
  maxConcurrent?: Partial<Record<ProviderId, number>>,
  dailyLimit?: Partial<Record<ProviderId, number>>,
): Partial<Record<ProviderId, ProviderLimits>> {
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
 * limits over the config file (`<home>/agentvisor/config.json`) over the defaults, and the CLI's observability (logs on stderr, the audit trail by
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
  // The file ledger in the home folder unless the config file names another: usage recorded by run
  // and batch persists across invocations (`agentvisor quota`).
  // Flags (commander) and the config file (its loader) are checked already: zod stays unloaded (D42).
  const options = {
    ...observability.orchestratorOptions,
    ...extra,
    home: context.home,
    claudeHome: context.claudeHome,
    env: process.env,
    ...cliSettings(context, limits),
  };
  const orch = createOrchestrator(alreadyChecked(options));
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
 * A whole number as `toLocaleString('en-US')` writes it (`50,000`), without Intl: a process's first
 * Intl call loads ICU data (20-40 ms), which `run` would otherwise pay before its agent starts.
 */
function count(n: number): string {
  return Number.isInteger(n) ? String(n).replace(/\B(?=(\d{3})+$)/g, ',') : n.toLocaleString('en-US');
}

/**
 * One progress line for people (stderr) per task event.
 *
 * @example
 * describeTaskEvent({ type: 'fallback', agentId: 't1', from: 'claude', to: 'openai', reason: 'overloaded' })
 * // 't1: claude failed (overloaded), falling back to openai'
 */
export function describeTaskEvent(event: AgentTaskEvent): string {
  switch (event.type) {
    case 'admitted':
      return `${event.agentId}: admitted on ${event.provider}, ${count(event.allocatedTokens)} tokens allocated`;
    case 'run.started':
      return `${event.agentId}: ${event.agent} started (pid ${event.pid ?? '-'})`;
    case 'run.ended':
      return `${event.agentId}: ${event.agent} ended in ${(event.durationMs / 1000).toFixed(1)} s: ${event.outcome}`;
    case 'fallback':
      return `${event.agentId}: ${event.from} failed (${event.reason}), falling back to ${event.to}`;
    case 'retry':
      return `${event.agentId}: ${event.provider} failed (${event.reason}), retrying in ${(event.delayMs / 1000).toFixed(1)} s`;
    case 'requeued':
      return (
        `${event.agentId}: ${event.provider} throttled it before any work (${event.reason}): ` +
        `it waited ${(event.waitedMs / 1000).toFixed(1)} s in the queue and runs again`
      );
    case 'usage':
      return `${event.agentId}: ${count(event.totalTokens)} tokens counted so far (${count(event.inputTokens)} in, ${count(event.outputTokens)} out)`;
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
 * What the agent's permissions refused, for people: null when nothing was.
 *
 * @example denialNote(result) // '2 tool calls were refused by the read-only sandbox (Write /w/a.txt, Bash npm test)'
 */
export function denialNote(result: AgentTaskResult): string | null {
  const denials = result.permissionDenials;
  if (denials.length === 0) return null;
  const shown = denials.slice(0, 3).map((d) => (d.target === null ? d.tool : `${d.tool} ${d.target}`));
  const more = denials.length > 3 ? `, and ${denials.length - 3} more` : '';
  return `${denials.length} tool call${denials.length === 1 ? ' was' : 's were'} refused by the ${result.sandbox} sandbox (${shown.join(', ')}${more})`;
}

/**
 * "done", or how a task that ended `ok` with refused tool calls is described: not a plain success.
 *
 * @example outcomeWord(result) // 'done, but 1 tool call was refused'
 */
export function outcomeWord(result: AgentTaskResult): string {
  if (!result.ok) return 'failed';
  const n = result.permissionDenials.length;
  return n === 0 ? 'done' : `done, but ${n} tool call${n === 1 ? ' was' : 's were'} refused`;
}

function summaryLine(result: AgentTaskResult): string {
  const u = result.usage;
  const fallbacks =
    result.fallbacks.length === 0
      ? 'no fallback'
      : `fallbacks: ${result.fallbacks.map((f) => `${f.from} → ${f.to} (${f.reason})`).join(', ')}`;
  const branch =
    result.worktree === undefined
      ? ''
      : `; branch ${result.worktree.branch} (${result.worktree.filesChanged.length} files changed)`;
  return (
    `${outcomeWord(result)} ${result.provider === null ? 'before any agent started' : `on ${result.provider} with ${agentChain(result)}`}: ` +
    `${count(u.totalTokens)} tokens (${count(u.inputTokens)} in, ${count(u.outputTokens)} out); ` +
    `${fallbacks}${branch}; ${(result.durationMs / 1000).toFixed(1)} s`
  );
}

interface RunOptions {
  readonly agent: string;
  readonly estimate: number;
  readonly timeout: number;
  readonly sandbox: SandboxMode;
  readonly cwd?: string;
  readonly maxTokens?: number;
  readonly worktree?: boolean;
}

/** The `--sandbox` option of `run` and `batch`. */
export function sandboxOption(): Option {
  return new Option(
    '--sandbox <mode>',
    'what the agent may do in its working directory (full-access: no permission checks, no sandbox)',
  )
    .choices([...SANDBOX_MODES])
    .default(DEFAULT_SANDBOX_MODE);
}

/**
 * The working directory `--cwd` names, checked: an existing folder (exit 2 otherwise).
 *
 * @example workingDirectory('~/src/app') // '/home/me/src/app'
 */
export function workingDirectory(dir: string | undefined): string {
  // An empty value is most often an unset shell variable: the current folder is not what was meant.
  if (dir?.trim() === '')
    throw new AgentvisorError('invalid-option', '--cwd is empty: give the project folder the agent should work in', {
      details: { field: 'cwd' },
    });
  const resolved = path.resolve(dir ?? process.cwd());
  if (!fs.existsSync(resolved) || !fs.statSync(resolved).isDirectory()) {
    throw new AgentvisorError(
      'invalid-option',
      `--cwd ${resolved} is not a folder: give the project folder the agent should work in`,
      { details: { field: 'cwd' } },
    );
  }
  return resolved;
}

/**
 * `agentvisor run [--agent auto|claude|codex] [--sandbox MODE] [--cwd DIR] [--worktree]
 * [--max-tokens N] [--estimate N] [--timeout S] <task…>`: one task through a real agent CLI,
 * admitted and authenticated by the orchestrator, falling back between Claude Code and Codex. With
 * `--json` the result object is the last stdout line; otherwise the agent's answer goes to stdout
 * and progress to stderr. Exit 0 on success, 1 when the task failed (its error code printed), 2 for
 * bad input (an unusable repository for `--worktree` included), 130 / 143 / 129 after Ctrl-C,
 * SIGTERM or SIGHUP (the agent stopped, its session settled and released, its home removed).
 *
 * @example addRunCommand(program);
 */
export function addRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'run one task through a real agent CLI (Claude Code or Codex) with credentials and limits applied, falling back between them',
    )
    .addOption(
      new Option('--agent <agent>', 'the agent to start with (the other one takes over on a fallback)')
        .choices(['auto', 'claude', 'claude-code', 'codex'])
        .default('auto'),
    )
    .addOption(sandboxOption())
    .option('--cwd <dir>', 'the folder the agent works in (default: the current folder)')
    .option(
      '--worktree',
      'run in a new git worktree on branch agentvisor/<task id>, committed there when the task ends (the checkout must be clean)',
    )
    .option(
      '--max-tokens <tokens>',
      'stop the agent once the task has used more than this many tokens (exit 1, token-limit)',
      wholeNumber(1, 1_000_000_000),
    )
    .option(
      '--estimate <tokens>',
      'tokens the task is expected to use (the admission estimate)',
      wholeNumber(1, 1_000_000_000),
      DEFAULT_ESTIMATE,
    )
    .option(
      '--timeout <seconds>',
      'stop the task after this long (from admission)',
      wholeNumber(1, 86_400),
      DEFAULT_TASK_TIMEOUT_MS / 1000,
    )
    .argument('<task...>', 'what the agent should do (words are joined with spaces)')
    .action(async (words: string[], opts: RunOptions, command: Command) => {
      const context = commandContext(command);
      const agent = parseAgentChoice(opts.agent) as AgentChoice;
      const cwd = workingDirectory(opts.cwd);
      const task = words.join(' ');
      const taskProblem = taskTextProblem(task);
      if (taskProblem !== null)
        throw new AgentvisorError('invalid-option', taskProblem, { details: { field: 'task' } });
      const agentId = `task-${randomUUID().slice(0, 8)}`;
      // Checked before any agent starts: nothing is created for a repository that cannot take a worktree.
      const plan = opts.worktree === true ? await planWorktrees(cwd, [agentId]) : null;
      note(
        `agentvisor: sandbox ` +
          `${describeSandbox(opts.sandbox, plan === null ? cwd : `a worktree of ${plan.repoRoot} (branch ${plan.branches.get(agentId) ?? ''})`)}`,
      );
      // Homes left by killed runs are swept once the agent has started (it starts up meanwhile), or at the end.
      let swept = false;
      const sweepOnce = (): void => {
        if (swept) return;
        swept = true;
        sweepLeftoverHomes();
      };
      const { orch, close } = await startCliOrchestrator(context).catch((error: unknown) => {
        sweepOnce();
        throw error;
      });
      // Usage-limit pauses and resumes (requeues show as task events).
      const unwatch = watchProviderEvents(orch, (line) => note(`agentvisor: ${line}`), { requeues: false });
      const controller = new AbortController();
      const stop = onStopSignals((signal) => {
        note(`agentvisor: ${stopSignalNote(signal)}: stopping the agent (again to quit at once)`);
        controller.abort();
      });
      let result: AgentTaskResult;
      try {
        result = await runPlannedTask(
          orch,
          // From commander's checked flags: zod stays off the run path (docs/decisions.md D42).
          alreadyChecked<AgentTaskOptions>({
            task,
            agent,
            agentId,
            cwd,
            sandbox: opts.sandbox,
            worktree: plan !== null,
            estimatedTokens: opts.estimate,
            timeoutMs: opts.timeout * 1000,
            ...(opts.maxTokens === undefined ? {} : { maxTokens: opts.maxTokens }),
            signal: controller.signal,
            onEvent: (event) => {
              note(`agentvisor: ${describeTaskEvent(event)}`);
              if (event.type === 'run.started') sweepOnce();
            },
          }),
          plan,
        );
      } finally {
        sweepOnce();
        stop.remove();
        unwatch();
        await close();
      }
      if (context.json) {
        process.stdout.write(`${redactSecrets(JSON.stringify(result))}\n`);
      } else if (result.ok) {
        process.stdout.write(`${redactSecrets(result.result ?? '')}\n`);
      }
      note(`agentvisor: ${summaryLine(result)}`);
      const denied = denialNote(result);
      if (denied !== null) note(`agentvisor: ${redactSecrets(denied)}`);
      if (result.worktree?.keptAt !== undefined)
        note(
          `agentvisor: the worktree ${result.worktree.keptAt} was kept: its changes could not be committed to ${result.worktree.branch}`,
        );
      if (!result.ok && result.error) note(`agentvisor: ${result.error.message} [${result.error.code}]`);
      process.exitCode = result.ok ? 0 : stop.exitCode(EXIT_TASK_FAILED);
    });
}

import { Command, InvalidArgumentError, Option } from 'commander';
import { isAgentvisorError } from '../errors';
import { LOG_LEVELS, createLogger } from '../observability';
import { addInspectCommand } from '../observability/inspectCommand';
import { redactSecrets } from './context';
import type { GlobalOptions } from './context';
import { runDemo } from './demoRun';
import { addBatchCommand } from './batchCommand';
import { addLoginCommands } from './loginCommands';
import { addRunCommand } from './runCommands';
import { addStatusCommands } from './statusCommands';
import { renderTable } from './table';

function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('agentvisor')
    .description('Run many AI coding agents at once under one supervisor: budgets, concurrency limits and provider fallback.')
    .option('--home <dir>', 'credentials and state folder (default: $CODEX_HOME, else ~/.codex)')
    .addOption(new Option('--log-level <level>', 'log level for stderr').choices([...LOG_LEVELS]).default('warn'))
    .option('--json', 'machine-readable output on stdout; logs stay on stderr')
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics at http://127.0.0.1:<port>/metrics while demo, run or batch runs').argParser(positiveInt(65535)))
    .option('--inspect <ws-url>', 'send sanitized state-machine events to a Stately inspector relay (demo, run, batch; see `agentvisor inspect`)')
    .option('--audit', 'append auth, fallback, refusal, reset and circuit events to <home>/audit/audit.jsonl (default for run and batch)')
    .option('--no-audit', 'do not write the audit trail')
    .showHelpAfterError()
    // Usage errors quote what was typed (a mistyped `--apikey=sk-…`): key-shaped text is shown as its hint.
    .configureOutput({ writeErr: (text) => process.stderr.write(redactSecrets(text)) });

  program
    .command('demo')
    .description('run N simulated agents through the real coordinator against the built-in sandbox provider (no keys, no services)')
    .option('--agents <n>', 'how many agents', positiveInt(1000), 24)
    .option('--seed <n>', 'random seed for estimates, latencies and injected failures', positiveInt(2 ** 31 - 1), 1)
    .action(async (opts: { agents: number; seed: number }) => {
      const global = program.opts<GlobalOptions>();
      const logger = createLogger(global.logLevel);
      const json = global.json === true;
      const write = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
      if (!json) write(`agentvisor demo: ${opts.agents} agents, default limits (claude 1,000,000 tokens/day, 10 at once; openai 500,000 and 8), sandbox provider\n`);
      const summary = await runDemo({ agents: opts.agents, seed: opts.seed, logger, onProgress: write, ...(global.home ? { home: global.home } : {}) });
      if (json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      } else {
        write('');
        write(renderTable(
          ['agent', 'status', 'providers', 'estimate', 'used', 'returned', 'fallbacks', 'waited ms'],
          summary.results.map((r) => [r.agentId, r.code ? `${r.status} (${r.code})` : r.status, r.providers.join('→') || '-', r.estimatedTokens, r.usedTokens, r.returnedTokens, r.fallbacks, r.waitedMs]),
        ));
        write('');
        write(renderTable(
          ['provider', 'daily limit', 'used', 'reserved', 'available', 'max running', 'limit'],
          (['claude', 'openai'] as const).map((p) => {
            const s = summary.stats.providers[p];
            return [p, s.dailyLimit, s.used, s.reserved, s.available, summary.maxActive[p], s.maxConcurrent];
          }),
        ));
        write('');
        write(`${summary.completed} completed, ${summary.ended} ended early, ${summary.refused} refused; ${summary.queued} waited in the queue; ${summary.fallbacks} fallbacks; ${summary.requests} provider requests in ${summary.elapsedMs} ms`);
        write(summary.ok ? 'settled: every allocation returned, usage counted once' : 'NOT SETTLED: accounting mismatch (a bug; please report it)');
      }
      process.exitCode = summary.ok ? 0 : 1;
    });
  addRunCommand(program);
  addBatchCommand(program);
  addLoginCommands(program);
  addInspectCommand(program);
  addStatusCommands(program);
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (isAgentvisorError(error)) {
      process.stderr.write(redactSecrets(`agentvisor: ${error.message} [${error.code}]\n`));
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

if (require.main === module) void main();

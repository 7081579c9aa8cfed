import { Command, InvalidArgumentError, Option } from 'commander';
import { isAgentvisorError } from '../errors';
import { LOG_LEVELS } from '../observability';
import { addInspectCommand } from '../observability/inspectCommand';
import { redactSecrets } from './context';
import { addDemoCommand } from './demoRun';
import { addBatchCommand } from './batchCommand';
import { addLoginCommands } from './loginCommands';
import { addRunCommand } from './runCommands';
import { addQuotaCommand } from './quotaCommand';
import { addStatusCommands } from './statusCommands';
import { addTestCommand } from './testCommand';

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

  addDemoCommand(program);
  addRunCommand(program);
  addBatchCommand(program);
  addLoginCommands(program);
  addInspectCommand(program);
  addStatusCommands(program);
  addQuotaCommand(program);
  addTestCommand(program);
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

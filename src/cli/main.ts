import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isAgentvisorError } from '../errors';
import { LOG_LEVELS } from '../observability';
import type * as InspectCommandModule from '../observability/inspectCommand';
import { redactSecrets } from './context';
import { packageVersion } from './packageVersion';
import type * as BatchCommandModule from './batchCommand';
import type * as DemoRunModule from './demoRun';
import type * as LoginCommandsModule from './loginCommands';
import type * as QuotaCommandModule from './quotaCommand';
import type * as RunCommandsModule from './runCommands';
import type * as StatusCommandsModule from './statusCommands';
import type * as TestCommandModule from './testCommand';

/** Exit code for bad input: a usage error, an invalid option value, an unusable file or repository. */
export const EXIT_USAGE = 2;

/**
 * The commands in help order, each with the module that defines it. A module is loaded only when
 * one of its commands runs: `agentvisor run` does not pay for loading the demo, batch, login,
 * status, quota and test code. The requires are static, inside functions, so the bundle
 * (scripts/bundleCli.mjs) holds each module while still evaluating it only when it is called.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- lazy loads, see above */
const COMMANDS: readonly { readonly names: readonly string[]; add(program: Command): void }[] = [
  { names: ['demo'], add: (p) => (require('./demoRun') as typeof DemoRunModule).addDemoCommand(p) },
  { names: ['run'], add: (p) => (require('./runCommands') as typeof RunCommandsModule).addRunCommand(p) },
  { names: ['batch'], add: (p) => (require('./batchCommand') as typeof BatchCommandModule).addBatchCommand(p) },
  {
    names: ['login', 'logout'],
    add: (p) => (require('./loginCommands') as typeof LoginCommandsModule).addLoginCommands(p),
  },
  {
    names: ['inspect'],
    add: (p) => (require('../observability/inspectCommand') as typeof InspectCommandModule).addInspectCommand(p),
  },
  {
    names: ['status', 'providers'],
    add: (p) => (require('./statusCommands') as typeof StatusCommandsModule).addStatusCommands(p),
  },
  { names: ['quota'], add: (p) => (require('./quotaCommand') as typeof QuotaCommandModule).addQuotaCommand(p) },
  { names: ['test'], add: (p) => (require('./testCommand') as typeof TestCommandModule).addTestCommand(p) },
];
/* eslint-enable @typescript-eslint/no-require-imports */

/** The global options that take a value: the word after one is its value, not the command. */
const VALUE_OPTIONS: ReadonlySet<string> = new Set(['--home', '--log-level', '--metrics-port', '--inspect']);

/** What `invokedCommand` returns when the version is asked for before any command: no command is defined. */
export const VERSION_REQUEST = '--version';

/**
 * The command named in the arguments after `node agentvisor` (the first word that is neither a
 * global option nor an option's value), `VERSION_REQUEST` when `-V`/`--version` comes first, or null
 * when there is none or help is asked for first.
 *
 * @example invokedCommand(['--home', '/tmp/h', 'run', 'say', 'pong']) // 'run'
 */
export function invokedCommand(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '--' || arg === '-h' || arg === '--help') return null;
    if (arg === '-V' || arg === '--version') return VERSION_REQUEST;
    if (!arg.startsWith('-')) return arg;
    if (VALUE_OPTIONS.has(arg)) i += 1;
  }
  return null;
}

function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    return n;
  };
}

/**
 * The `agentvisor` program. With `command` (a name from `invokedCommand`) only the module of that
 * command is loaded and only its commands are defined; with `VERSION_REQUEST` none is; with none, or
 * a name that is not a command (`help`, a typo commander suggests a fix for), every command is.
 *
 * @example await buildProgram('run').parseAsync(process.argv);
 */
export function buildProgram(command: string | null = null): Command {
  const program = new Command();
  program
    .name('agentvisor')
    .description(
      'Run many AI coding agents at once under one supervisor: budgets, concurrency limits and provider fallback.',
    )
    .option('--home <dir>', 'credentials and state folder (default: $AGENTVISOR_HOME, else $CODEX_HOME, else ~/.codex)')
    .addOption(new Option('--log-level <level>', 'log level for stderr').choices([...LOG_LEVELS]).default('warn'))
    .option('--json', 'machine-readable output on stdout; logs stay on stderr')
    .addOption(
      new Option(
        '--metrics-port <port>',
        'serve Prometheus metrics at http://127.0.0.1:<port>/metrics while demo, run or batch runs',
      ).argParser(positiveInt(65535)),
    )
    .option(
      '--inspect <ws-url>',
      'send sanitized state-machine events to a Stately inspector relay (demo, run, batch; see `agentvisor inspect`)',
    )
    .option(
      '--audit',
      'append auth, fallback, refusal, reset and circuit events to <home>/audit/audit.jsonl (default for run, batch, login and logout)',
    )
    .option('--no-audit', 'do not write the audit trail')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    // Usage errors (unknown option, bad value, missing argument) end in main() with exit 2, not commander's 1.
    .exitOverride()
    // Usage errors quote what was typed (a mistyped `--apikey=sk-…`): key-shaped text is shown as its hint.
    .configureOutput({ writeErr: (text) => process.stderr.write(redactSecrets(text)) });

  const only = COMMANDS.find((c) => command !== null && c.names.includes(command));
  if (command !== VERSION_REQUEST) for (const c of only === undefined ? COMMANDS : [only]) c.add(program);
  return program;
}

/** Commander's own endings that are not errors (`commander.help` is one only when help was asked for: exit code 0). */
const NOT_ERRORS = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/**
 * What a command line that names no command (or a command group such as `login` without its
 * subcommand) lacks; commander printed the help on stderr.
 *
 * @example missingCommandMessage(program, ['--json', 'login']) // 'login needs a provider: login claude or login openai (…)'
 */
function missingCommandMessage(program: Command, args: readonly string[]): string {
  const named = invokedCommand(args);
  const group = program.commands.find((c) => c.name() === named);
  if (group === undefined) {
    const names = program.commands.map((c) => c.name()).filter((name) => name !== 'help');
    return `a command is needed: one of ${names.join(', ')} (agentvisor --help says what each does)`;
  }
  const choices = group.commands.map((c) => `${group.name()} ${c.name()}`).filter((c) => !c.endsWith(' help'));
  return `${group.name()} needs a provider: ${choices.join(' or ')} (agentvisor ${group.name()} --help)`;
}

/**
 * Runs the CLI. Bad input (a usage error, or an AgentvisorError thrown before a command could
 * finish) exits 2 with a one-line message on stderr; under `--json` the last stdout line is also
 * `{ ok: false, error: { code, message } }` (usage errors have the code `invalid-option`).
 *
 * @example await main(['node', 'agentvisor', '--json', 'quota']);
 */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const args = argv.slice(2);
  const json = args.slice(0, args.indexOf('--') === -1 ? undefined : args.indexOf('--')).includes('--json');
  const fail = (code: string, message: string): void => {
    if (json) process.stdout.write(`${redactSecrets(JSON.stringify({ ok: false, error: { code, message } }))}\n`);
    process.exitCode = EXIT_USAGE;
  };
  const program = buildProgram(invokedCommand(args));
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed the message (or, for a missing command, the help) already, on stderr.
      if (NOT_ERRORS.has(error.code) && error.exitCode === 0) process.exitCode = 0;
      else if (error.code === 'commander.help') {
        const message = missingCommandMessage(program, args);
        process.stderr.write(`agentvisor: ${message}\n`);
        fail('invalid-option', message);
      } else fail('invalid-option', error.message.replace(/^error: /, ''));
      return;
    }
    if (isAgentvisorError(error)) {
      process.stderr.write(redactSecrets(`agentvisor: ${error.message} [${error.code}]\n`));
      fail(error.code, error.message);
      return;
    }
    throw error;
  }
}

if (require.main === module) void main();

/**
 * The config file through the real CLI (issue 15, items 4 and 9): `<home>/agentvisor/config.json`
 * sets the limits, switches, order and ledger that status, providers, quota, run and batch use;
 * flags beat it; a bad file is exit 2 naming the field (and is left as it is); a symlink out of
 * the home is refused; zod is loaded only when there is a file. Also: docs/cli.md lists every
 * exit code the CLI uses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT_USAGE } from '../../src/cli/main';
import { EXIT_PAUSED, EXIT_TASK_FAILED } from '../../src/cli/runCommands';
import { EXIT_FOR_SIGNAL } from '../../src/cli/stopSignals';
import { lastJson, runCliSync } from '../helpers/batchCli';
import type { CliEnd } from '../helpers/batchCli';

const root = path.join(__dirname, '..', '..');
// Each CLI run starts ts-node (a few seconds on a busy machine); some tests make four.
jest.setTimeout(180_000);
let dir: string;
let home: string;
let configFile: string;

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-config-')));
  home = path.join(dir, 'home');
  configFile = path.join(home, 'agentvisor', 'config.json');
  fs.mkdirSync(path.dirname(configFile), { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The real CLI, with a preload that reports on stderr whether zod was loaded by the time it exits. */
function cli(args: readonly string[], env: Record<string, string> = {}): CliEnd {
  const probe = path.join(dir, 'zod-probe.js');
  fs.writeFileSync(
    probe,
    "process.on('exit', () => { " +
      "if (Object.keys(require.cache).some((k) => /[\\\\/]node_modules[\\\\/]zod[\\\\/]/.test(k))) process.stderr.write('zod: loaded\\n'); });\n",
  );
  return runCliSync(['--home', home, ...args], { cwd: dir, home: dir, env, preload: [probe] });
}

function writeConfig(value: unknown): void {
  fs.writeFileSync(configFile, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

describe('agentvisor with a config file', () => {
  it('should show the configured limits with where each came from in status, quota and providers', () => {
    writeConfig({
      limits: { claude: { dailyLimit: 2_000_000 } },
      providers: { openai: { enabled: false } },
      fallbackChain: ['openai', 'claude'],
      ledger: { file: 'budget.json' },
    });

    const status = cli(['--json', 'status']);
    expect(status.status).toBe(0);
    const result = lastJson(status.stdout) as {
      providers: { provider: string; limits: unknown; switch: unknown }[];
      [key: string]: unknown;
    };
    expect(result.providers.map((p) => [p.provider, p.limits, p.switch])).toEqual([
      [
        'claude',
        { dailyLimit: 2_000_000, maxConcurrent: 10 },
        { enabled: true, disabledBy: null, rolloutPercent: 100 },
      ],
      [
        'openai',
        { dailyLimit: 500_000, maxConcurrent: 8 },
        { enabled: false, disabledBy: 'option', rolloutPercent: 100 },
      ],
    ]);
    expect(result).toMatchObject({
      config: { file: configFile, loaded: true },
      limitsFrom: {
        claude: { dailyLimit: 'config', maxConcurrent: 'default' },
        openai: { dailyLimit: 'default', maxConcurrent: 'default' },
      },
      providerPriority: null,
      startOrder: ['claude'],
    });
    const human = cli(['status']);
    expect(human.stdout).toMatch(/claude\s+on\s+none.*2,000,000\s+10\s+daily: config, at once: default/);
    expect(human.stdout).toMatch(/openai\s+off \(config file\)/);
    expect(human.stdout).toContain(`Config file: ${configFile} (sets limits, fallbackChain, providers, ledger)`);

    const quota = cli(['--json', 'quota']);
    expect(quota.status).toBe(0);
    expect(lastJson(quota.stdout)).toMatchObject({
      ledger: path.join(home, 'agentvisor', 'budget.json'),
      ledgerKind: 'file',
      exists: false,
      config: { file: configFile, loaded: true },
      limitsFrom: { claude: { dailyLimit: 'config', maxConcurrent: 'default' } },
      providers: [
        expect.objectContaining({ provider: 'claude', dailyLimit: 2_000_000, available: 2_000_000 }),
        expect.objectContaining({ provider: 'openai', dailyLimit: 500_000 }),
      ],
    });

    const providers = cli(['--json', 'providers']);
    expect(lastJson(providers.stdout)).toMatchObject({
      fallbackOrder: ['openai', 'claude'],
      config: { file: configFile, loaded: true },
    });
  });

  it('should not load zod without a config file, and say the defaults apply', () => {
    const quota = cli(['--json', 'quota']);
    expect(quota.status).toBe(0);
    expect(quota.stderr).not.toContain('zod: loaded');
    expect(lastJson(quota.stdout)).toMatchObject({
      config: { file: configFile, loaded: false },
      limitsFrom: { claude: { dailyLimit: 'default', maxConcurrent: 'default' } },
    });
    expect(cli(['quota']).stdout).toContain(`Config file: none (${configFile} does not exist; the defaults apply)`);
    writeConfig({ limits: { openai: { maxConcurrent: 2 } } });
    expect(cli(['--json', 'quota']).stderr).toContain('zod: loaded');
  });

  it('should refuse a bad file with exit 2 naming the field, and leave it as it is', () => {
    writeConfig('{\n  "limits": { "claude": { "dailyTokens": 2000000 } }\n}\n');
    const before = fs.statSync(configFile);
    const plain = cli(['status']);
    expect(plain.status).toBe(EXIT_USAGE);
    expect(plain.stdout).toBe('');
    expect(
      plain.stderr
        .trim()
        .split('\n')
        .filter((l) => l !== 'zod: loaded'),
    ).toEqual([
      `agentvisor: Config file ${configFile}: limits.claude.dailyTokens: unknown setting; did you mean dailyLimit? ` +
        '(known: dailyLimit, maxConcurrent). It was left as it is. [invalid-config]',
    ]);
    const json = cli(['--json', 'run', 'say', 'pong']);
    expect(json.status).toBe(EXIT_USAGE);
    expect(lastJson(json.stdout)).toEqual({
      ok: false,
      error: { code: 'invalid-config', message: expect.stringContaining('limits.claude.dailyTokens: unknown setting') },
    });
    expect(fs.readFileSync(configFile, 'utf8')).toBe('{\n  "limits": { "claude": { "dailyTokens": 2000000 } }\n}\n');
    expect(fs.statSync(configFile).mtimeMs).toBe(before.mtimeMs);
  });

  it('should refuse a config file that is a symlink out of the home', () => {
    const outside = path.join(dir, 'shared-config.json');
    fs.writeFileSync(outside, '{}');
    fs.symlinkSync(outside, configFile);
    const { status, stderr } = cli(['quota']);
    expect(status).toBe(EXIT_USAGE);
    expect(stderr).toContain(
      `Config file ${configFile} is a symlink (or lies below one) that resolves outside ${home}; refusing to use it. [insecure-permissions]`,
    );
  });

  it("should run tasks under the file's limits and ledger, with flags over the file", () => {
    writeConfig({
      limits: { claude: { dailyLimit: 100 }, openai: { dailyLimit: 100 } },
      ledger: { file: 'budget.json' },
    });
    const run = cli(['--json', 'run', '--estimate', '1000', 'say', 'pong'], {
      ANTHROPIC_API_KEY: 'sk-ant-api03-CONFIGtestKEY-00aa',
    });
    expect(run.status).toBe(EXIT_TASK_FAILED);
    expect(lastJson(run.stdout)).toMatchObject({
      ok: false,
      runs: 0,
      error: {
        code: 'quota-exhausted',
        message: expect.stringContaining('(claude: 100 tokens/day, openai: 100 tokens/day)'),
      },
    });
    expect(fs.existsSync(path.join(home, 'agentvisor', 'budget.json'))).toBe(true);
    expect(fs.existsSync(path.join(home, 'agentvisor', 'ledger.json'))).toBe(false);

    const tasks = path.join(dir, 'tasks.jsonl');
    fs.writeFileSync(tasks, '{"id":"t1","task":"say pong","estimate":1000}\n');
    const batch = cli(['--json', 'batch', '--daily-limit', 'openai=200', '--wait', '0', '--no-journal', tasks], {
      ANTHROPIC_API_KEY: 'sk-ant-api03-CONFIGtestKEY-00aa',
    });
    expect(batch.status).toBe(EXIT_TASK_FAILED);
    const line = batch.stdout.split('\n').find((l) => l.startsWith('{"id":"t1"'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      ok: false,
      runs: 0,
      error: {
        code: 'quota-exhausted',
        message: expect.stringContaining('(claude: 100 tokens/day, openai: 200 tokens/day)'),
      },
    });
  });
});

describe('docs/cli.md', () => {
  it('should list every exit code the CLI uses, and no other', () => {
    const text = fs.readFileSync(path.join(root, 'docs', 'cli.md'), 'utf8');
    const section = text.slice(text.indexOf('## Exit codes'), text.indexOf('\n## ', text.indexOf('## Exit codes') + 1));
    const documented = [...section.matchAll(/^\| ([\d, ]+) \|/gm)].flatMap((m) =>
      m[1]!.split(',').map((n) => Number(n.trim())),
    );
    const used = [0, EXIT_TASK_FAILED, EXIT_USAGE, EXIT_PAUSED, ...Object.values(EXIT_FOR_SIGNAL)];
    expect([...new Set(documented)].sort((a, b) => a - b)).toEqual([...new Set(used)].sort((a, b) => a - b));
    expect(text).toContain('## Config file');
  });
});

/**
 * CLI conventions (issue 15, item 3 in part): `--version`, bad input is exit 2 with one line and a
 * help hint (and under `--json` a last stdout line `{ ok: false, error }`), `AGENTVISOR_HOME`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastJson, runCliSync } from '../helpers/batchCli';
import type { CliEnd } from '../helpers/batchCli';

const root = path.join(__dirname, '..', '..');
let dir: string;

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-conventions-')));
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = (args: readonly string[], env: Record<string, string> = {}): CliEnd =>
  runCliSync(args, { cwd: dir, home: dir, env });

describe('agentvisor CLI conventions', () => {
  it('should print the package version with --version', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const { status, stdout } = cli(['--version']);
    expect(status).toBe(0);
    expect(stdout).toBe(`${version}\n`);
  });

  it.each([
    ['an unknown option', ['run', '--bogus', 'x'], "unknown option '--bogus'"],
    ['a bad number', ['run', '--max-tokens', 'lots', 'x'], "option '--max-tokens <tokens>' argument 'lots' is invalid"],
    ['a missing argument', ['batch'], "missing required argument 'tasks.jsonl'"],
    [
      'a bad choice',
      ['run', '--sandbox', 'everything', 'x'],
      "option '--sandbox <mode>' argument 'everything' is invalid",
    ],
  ])(
    'should refuse %s with exit 2, one line and a help hint, and a JSON error line under --json',
    (_what, args, message) => {
      const plain = cli(args);
      expect(plain.status).toBe(2);
      expect(plain.stdout).toBe('');
      expect(plain.stderr.trim().split('\n')).toEqual([expect.stringContaining(message), '(add --help for usage)']);
      const json = cli(['--json', ...args]);
      expect(json.status).toBe(2);
      expect(lastJson(json.stdout)).toEqual({
        ok: false,
        error: { code: 'invalid-option', message: expect.stringContaining(message) },
      });
    },
  );

  it.each([
    ['no command', [], 'a command is needed', 'Usage: agentvisor [options] [command]'],
    ['login without its provider', ['login'], 'login needs a provider', 'Usage: agentvisor login [options] [command]'],
  ])(
    'should refuse %s with exit 2 and the help on stderr, and a JSON error line under --json',
    (_what, args, message, usage) => {
      const plain = cli(args);
      expect(plain.status).toBe(2);
      expect(plain.stdout).toBe('');
      expect(plain.stderr).toContain(usage);
      expect(plain.stderr.trim().split('\n').at(-1)).toContain(message);
      const json = cli(['--json', ...args]);
      expect(json.status).toBe(2);
      expect(lastJson(json.stdout)).toEqual({
        ok: false,
        error: { code: 'invalid-option', message: expect.stringContaining(message) },
      });
    },
  );

  it('should exit 0 for help asked for, with the help on stdout', () => {
    for (const args of [['--help'], ['help'], ['help', 'run'], ['login', '--help'], ['login', 'help']]) {
      const { status, stdout } = cli(args);
      expect({ args, status }).toEqual({ args, status: 0 });
      expect(stdout).toContain('Usage: agentvisor');
    }
  });

  it('should say in --help where the audit trail is on by default, as docs/cli.md does', () => {
    const help = cli(['--help']).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('(default for run, batch, login and logout)');
  });

  it("should print an agentvisor error's code under --json too", () => {
    const { status, stdout, stderr } = cli(['--json', 'batch', path.join(dir, 'missing.jsonl')]);
    expect(status).toBe(2);
    expect(stderr).toContain('[invalid-option]');
    expect(lastJson(stdout)).toMatchObject({
      ok: false,
      error: { code: 'invalid-option', message: expect.stringContaining('cannot read the tasks file') },
    });
  });

  it('should honour --json in inspect: one JSON line with the relay and page addresses', () => {
    const { status, stdout } = cli(['--json', 'inspect', '--port', '8123']);
    expect(status).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(lastJson(stdout)).toMatchObject({
      ok: true,
      relay: 'ws://localhost:8123',
      page: 'http://localhost:8123',
      serving: false,
      instructions: expect.arrayContaining([expect.stringContaining('agentvisor inspect --serve --port 8123')]),
    });
  });

  it('should take the home from AGENTVISOR_HOME when --home is not given, and --home over it', () => {
    const fromEnv = cli(['--json', 'quota'], {
      AGENTVISOR_HOME: path.join(dir, 'av-home'),
      CODEX_HOME: path.join(dir, 'codex-home'),
    });
    expect(fromEnv.status).toBe(0);
    expect(String(lastJson(fromEnv.stdout).ledger)).toMatch(new RegExp(`^${path.join(dir, 'av-home')}/`));
    const flag = cli(['--json', '--home', path.join(dir, 'flag-home'), 'quota'], {
      AGENTVISOR_HOME: path.join(dir, 'av-home'),
    });
    expect(String(lastJson(flag.stdout).ledger)).toMatch(new RegExp(`^${path.join(dir, 'flag-home')}/`));
  });
});

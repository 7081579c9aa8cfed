/**
 * What `agentvisor run` no longer pays before its agent starts (issue 13, item 9): zod loads only
 * when a credentials file is read, pino only when a line is logged, UTC daily windows need no Intl,
 * token counts print without Intl, and an agent's home comes seeded so Claude Code skips its config
 * migrations; the home is removed without blocking. Module loading is checked in a fresh node
 * process (ts-node, transpile only), where nothing else has loaded those modules yet.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CLAUDE_CODE_MIGRATION_VERSION, createAgentHome } from '../../src/agents/agentHome';
import { describeTaskEvent } from '../../src/cli/runCommands';
import { createLogger, secretMaskerOf } from '../../src/observability/logger';
import { windowAt } from '../../src/quota/dailyWindow';
import { DAY, HOUR, T0 } from '../helpers/timeOrigin';

const root = path.join(__dirname, '..', '..');
const TS_NODE = require.resolve('ts-node/register/transpile-only');

/** Runs `script` (CommonJS, `src` bound to the repository's src folder) in a fresh node process; its stdout parsed as JSON. */
function inFreshProcess(script: string): Record<string, unknown> {
  const out = execFileSync(
    process.execPath,
    ['-r', TS_NODE, '-e', `const src = ${JSON.stringify(path.join(root, 'src'))};\n${script}`],
    {
      cwd: root,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TS_NODE_PROJECT: path.join(root, 'tsconfig.json') },
      encoding: 'utf8',
    },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** In a fresh process: whether a package from node_modules is loaded. */
const LOADED =
  'const loaded = (pkg) => Object.keys(require.cache).some((file) => file.includes(`/node_modules/${pkg}/`));';

let tmp: string;
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'run-startup-')));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('createAgentHome', () => {
  it("should seed Claude Code's config folder with what a first run writes, ids of its own, readable by this user only", () => {
    const home = createAgentHome({ parent: tmp });
    const other = createAgentHome({ parent: tmp });
    const read = (h: typeof home) =>
      JSON.parse(fs.readFileSync(path.join(h.claudeConfigDir, '.claude.json'), 'utf8')) as Record<string, unknown>;
    const file = path.join(home.claudeConfigDir, '.claude.json');
    const seed = read(home);
    expect(seed).toEqual({
      migrationVersion: CLAUDE_CODE_MIGRATION_VERSION,
      firstStartTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      userID: expect.stringMatching(/^[0-9a-f]{64}$/),
      machineID: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // Drawn per home: two agents never share an id.
    const second = read(other);
    expect([second.userID, second.machineID]).not.toContain(seed.userID);
    expect([second.userID, second.machineID]).not.toContain(seed.machineID);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(home.claudeConfigDir)).toEqual(['.claude.json']);
    home.remove();
    other.remove();
  });

  it('should remove the whole home with removeAsync, whatever the agent left in it, and twice without error', async () => {
    const home = createAgentHome({ parent: tmp });
    fs.mkdirSync(path.join(home.claudeConfigDir, 'projects', 'p'), { recursive: true });
    fs.writeFileSync(path.join(home.claudeConfigDir, 'projects', 'p', 's.jsonl'), '{}\n');
    fs.writeFileSync(path.join(home.codexHome, 'auth.json'), '{}');
    const removal = home.removeAsync();
    // It is asynchronous: the folder is still there when the call returns.
    expect(fs.existsSync(home.root)).toBe(true);
    await removal;
    expect(fs.existsSync(home.root)).toBe(false);
    await home.removeAsync();
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe('createLogger', () => {
  function capture(): { stream: Writable; lines: string[] } {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    return { stream, lines };
  }

  it('should not load pino for lines below its level, and load it for the first line at or above it', () => {
    const seen = inFreshProcess(`${LOADED}
      const { createLogger, secretMaskerOf } = require(src + '/observability/logger');
      const logger = createLogger('warn', 1, { pretty: false });
      logger.info('dropped'); logger.debug({ a: 1 }, 'dropped');
      const before = { pino: loaded('pino'), level: logger.level, masker: secretMaskerOf(logger) !== null };
      logger.warn('shown');
      console.log(JSON.stringify({ ...before, after: loaded('pino') }));`);
    expect(seen).toEqual({ pino: false, level: 'warn', masker: true, after: true });
  });

  it('should keep the level, the masker and child loggers of a pino logger', () => {
    const { stream, lines } = capture();
    const logger = createLogger('warn', stream);
    logger.info('dropped before pino is built');
    logger.level = 'info';
    logger.info('shown once the level is info');
    const child = logger.child({ agentId: 'a1' });
    secretMaskerOf(child)!.add('opaque-token-RunStartupTest-123456');
    child.warn('said opaque-token-RunStartupTest-123456');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 30, msg: 'shown once the level is info' }),
      expect.objectContaining({ level: 40, agentId: 'a1', msg: 'said [REDACTED]' }),
    ]);
    expect(secretMaskerOf(logger)).toBe(secretMaskerOf(child));
  });

  it('should refuse a level pino does not know at once, as before it was lazy', () => {
    expect(() => createLogger('loud' as 'warn', capture().stream)).toThrow(/loud/);
  });
});

describe('credential file schemas', () => {
  it('should load zod only when a credentials file is read, and still refuse a file of the wrong shape', () => {
    fs.writeFileSync(path.join(tmp, 'auth.json'), JSON.stringify({ OPENAI_API_KEY: 42 }), { mode: 0o600 });
    const seen = inFreshProcess(`${LOADED}
      const credentials = require(src + '/credentials');
      const before = loaded('zod');
      credentials.readCodexAuth(${JSON.stringify(tmp)}).then(
        () => console.log(JSON.stringify({ before, code: 'none' })),
        (error) => console.log(JSON.stringify({ before, after: loaded('zod'), code: error.code, fields: error.details.fields })),
      );`);
    expect(seen).toEqual({ before: false, after: true, code: 'invalid-credentials-file', fields: ['OPENAI_API_KEY'] });
  });
});

describe('windowAt in UTC', () => {
  it('should match the Intl reading of the same zone (Etc/UTC) at any instant and reset time', () => {
    const start = T0;
    for (const at of ['00:00', '06:30', '23:59']) {
      for (let t = start; t < start + 400 * DAY; t += 3 * DAY + HOUR - 1) {
        expect(windowAt(t, { at, timeZone: 'UTC' })).toEqual(windowAt(t, { at, timeZone: 'Etc/UTC' }));
      }
    }
  });

  it('should need no Intl formatter for the default UTC window', () => {
    const seen = inFreshProcess(`
      let made = 0;
      const Real = Intl.DateTimeFormat;
      Intl.DateTimeFormat = function (...args) { made += 1; return new Real(...args); };
      const { windowAt, checkDailyReset } = require(src + '/quota/dailyWindow');
      checkDailyReset({ at: '00:00', timeZone: 'UTC' });
      windowAt(${T0});
      const utc = made;
      windowAt(${T0}, { at: '00:00', timeZone: 'Europe/Berlin' });
      console.log(JSON.stringify({ utc, berlin: made }));`);
    expect(seen).toEqual({ utc: 0, berlin: 1 });
  });
});

describe('describeTaskEvent', () => {
  it('should group token counts in thousands as en-US does', () => {
    expect(
      describeTaskEvent({
        type: 'usage',
        agentId: 't1',
        provider: 'claude',
        inputTokens: 1_234_567,
        outputTokens: 89,
        totalTokens: 1_234_656,
      }),
    ).toBe('t1: 1,234,656 tokens counted so far (1,234,567 in, 89 out)');
    expect(
      describeTaskEvent({
        type: 'admitted',
        agentId: 't1',
        sessionId: 's1',
        provider: 'claude',
        allocatedTokens: 50_000,
      }),
    ).toBe('t1: admitted on claude, 50,000 tokens allocated');
  });
});

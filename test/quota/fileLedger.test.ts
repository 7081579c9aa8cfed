import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFileLedger } from '../../src/quota';
import type { LedgerConfig, QuotaLedger } from '../../src/quota';
import { maxOverlap, startLedgerWorker, startTogether } from '../helpers/ledgerProcesses';
import { HOUR, T0, describeLedgerContract, expectRejection, testClock } from '../helpers/ledgerContract';

let tmp: string;
let seq = 0;

beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-file-ledger-')));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fresh file path in its own (not yet existing) folder. */
function freshFile(): string {
  return path.join(tmp, `ledger-${(seq += 1)}`, 'ledger.json');
}

describeLedgerContract('file', () => ({
  create: async (config) => createFileLedger({ ...config, file: freshFile() }),
}));

const LIMITS: LedgerConfig['limits'] = {
  claude: { dailyLimit: 10_000, maxConcurrent: 10 },
  openai: { dailyLimit: 5_000, maxConcurrent: 2 },
};

interface FileContent {
  format: string;
  version: number;
  dailyReset?: { at: string; timeZone: string };
  reservations: Record<string, { provider: string; tokens: number; expiresAt: number }>;
  days: Record<
    string,
    {
      used: Record<string, number>;
      settled: Record<string, { provider: string; usedTokens: number; returnedTokens: number }>;
      expired: Record<string, string>;
    }
  >;
}

const readLedgerFile = (file: string): FileContent => JSON.parse(fs.readFileSync(file, 'utf8')) as FileContent;

describe('createFileLedger', () => {
  let ledgers: QuotaLedger[];

  beforeEach(() => {
    ledgers = [];
  });

  afterEach(async () => {
    await Promise.all(ledgers.map((l) => l.close()));
  });

  function open(file: string, extra: Partial<Parameters<typeof createFileLedger>[0]> = {}): QuotaLedger {
    const ledger = createFileLedger({ limits: LIMITS, file, ...extra });
    ledgers.push(ledger);
    return ledger;
  }

  it('should keep its books in a 0600 file in a 0700 folder, readable by the next ledger on that file', async () => {
    const file = freshFile();
    const clock = testClock();
    const first = open(file, { now: clock.now });
    await first.reserve({ provider: 'claude', sessionId: 'a', tokens: 1_000, leaseMs: HOUR });
    await first.reserve({ provider: 'claude', sessionId: 'b', tokens: 500, leaseMs: HOUR });
    await first.settle('a', 300);
    await first.close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readLedgerFile(file)).toEqual({
      format: 'agentvisor-quota-ledger',
      version: 2,
      dailyReset: { at: '00:00', timeZone: 'UTC' },
      reservations: { b: { provider: 'claude', tokens: 500, expiresAt: T0 + HOUR } },
      days: {
        '2026-03-10': {
          used: { claude: 300, openai: 0 },
          settled: { a: { provider: 'claude', usedTokens: 300, returnedTokens: 700 } },
          expired: {},
        },
      },
    });
    const second = open(file, { now: clock.now });
    expect((await second.snapshot()).providers.claude).toEqual({
      dailyLimit: 10_000,
      maxConcurrent: 10,
      used: 300,
      reserved: 500,
      active: 1,
      overrun: 0,
    });
    expect(await second.settle('a', 999)).toEqual({
      sessionId: 'a',
      provider: 'claude',
      usedTokens: 300,
      returnedTokens: 700,
    });
    // No temp files or lock left behind.
    expect(fs.readdirSync(path.dirname(file))).toEqual(['ledger.json']);
  });

  it('should read a version 1 file as it is and write recorded usage and overrun back as version 2', async () => {
    const file = freshFile();
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const v1 = {
      format: 'agentvisor-quota-ledger',
      version: 1,
      reservations: { b: { provider: 'claude', tokens: 500, expiresAt: T0 + HOUR } },
      days: { '2026-03-10': { used: { claude: 9_400, openai: 0 }, settled: {}, expired: { x: 'openai' } } },
    };
    fs.writeFileSync(file, JSON.stringify(v1), { mode: 0o600 });
    const clock = testClock();
    const ledger = open(file, { now: clock.now });
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ used: 9_400, reserved: 500, overrun: 0 });
    // b spends 700 of its 500: 100 of the 200 beyond were free, 100 were not.
    await ledger.record({ sessionId: 'b', usedTokens: 700 });
    await ledger.record({ sessionId: 'x', usedTokens: 5 });
    expect(readLedgerFile(file)).toEqual({
      format: 'agentvisor-quota-ledger',
      version: 2,
      dailyReset: { at: '00:00', timeZone: 'UTC' },
      reservations: { b: { provider: 'claude', tokens: 500, expiresAt: T0 + HOUR, used: 700 } },
      days: {
        '2026-03-10': {
          used: { claude: 10_100, openai: 5 },
          overrun: { claude: 100, openai: 0 },
          settled: {},
          expired: { x: { provider: 'openai', used: 5 } },
        },
      },
    });
    expect((await open(file, { now: clock.now }).snapshot()).providers.claude).toEqual({
      dailyLimit: 10_000,
      maxConcurrent: 10,
      used: 10_100,
      reserved: 0,
      active: 1,
      overrun: 100,
    });
  });

  it('should not rewrite the file for a snapshot that changes nothing', async () => {
    const file = freshFile();
    const ledger = open(file);
    await ledger.reserve({ provider: 'claude', sessionId: 'a', tokens: 1, leaseMs: HOUR });
    const before = fs.statSync(file);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await ledger.snapshot();
    expect(fs.statSync(file).mtimeMs).toBe(before.mtimeMs);
    expect(fs.statSync(file).ino).toBe(before.ino);
  });

  it('should refuse a ledger whose daily reset is not the one the file keeps, changing nothing', async () => {
    const file = freshFile();
    const now = (): number => Date.parse('2026-12-08T03:00:00Z');
    const utc = open(file, { now });
    await utc.reserve({ provider: 'claude', sessionId: 'a', tokens: 9_000, leaseMs: HOUR });
    await utc.settle('a', 9_000);
    const bytes = fs.readFileSync(file);
    // 03:00 UTC is still Dec 7 in New York: a ledger resetting there would start from an empty day.
    const newYork = open(file, { now, dailyReset: { at: '00:00', timeZone: 'America/New_York' } });
    for (const call of [
      newYork.snapshot(),
      newYork.reserve({ provider: 'claude', sessionId: 'b', tokens: 9_000, leaseMs: HOUR }),
    ]) {
      const error = await expectRejection(call, 'invalid-option');
      expect(error.details).toMatchObject({ option: 'dailyReset', file });
      expect(error.message).toContain("{ at: '00:00', timeZone: 'UTC' }");
    }
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    // The same reset written another way is the same reset.
    const alias = open(file, { now, dailyReset: { at: '00:00', timeZone: 'Etc/UTC' } });
    expect((await alias.snapshot()).providers.claude).toMatchObject({ used: 9_000 });
  });

  it('should keep session ids such as __proto__ as plain data', async () => {
    const file = freshFile();
    const ledger = open(file);
    await ledger.reserve({ provider: 'claude', sessionId: '__proto__', tokens: 40, leaseMs: HOUR });
    await ledger.reserve({ provider: 'claude', sessionId: 'constructor', tokens: 60, leaseMs: HOUR });
    expect((await open(file).snapshot()).providers.claude).toMatchObject({ reserved: 100, active: 2 });
    expect(await ledger.settle('__proto__', 10)).toEqual({
      sessionId: '__proto__',
      provider: 'claude',
      usedTokens: 10,
      returnedTokens: 30,
    });
  });

  it('should share one budget between two ledgers on the same file in one process', async () => {
    const file = freshFile();
    const [a, b] = [open(file), open(file)];
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (i % 2 === 0 ? a : b).reserve({ provider: 'claude', sessionId: `s-${i}`, tokens: 10, leaseMs: HOUR }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'reserved')).toHaveLength(10);
    expect((await a.snapshot()).providers.claude).toMatchObject({ reserved: 100, active: 10 });
  });

  it('should prune settled ids older than the previous window and totals older than seven windows', async () => {
    const file = freshFile();
    const clock = testClock();
    const ledger = open(file, { now: clock.now });
    for (let day = 0; day < 9; day += 1) {
      await ledger.settle(`d-${day}`, 10 + day, 'claude');
      clock.advance(24 * HOUR);
    }
    await ledger.snapshot(); // 2026-03-19: one write that prunes
    const { days } = readLedgerFile(file);
    expect(Object.keys(days)).toEqual([
      '2026-03-13',
      '2026-03-14',
      '2026-03-15',
      '2026-03-16',
      '2026-03-17',
      '2026-03-18',
    ]);
    expect(days['2026-03-13']).toEqual({ used: { claude: 13, openai: 0 }, settled: {}, expired: {} });
    expect(Object.keys(days['2026-03-17']!.settled)).toEqual([]);
    expect(Object.keys(days['2026-03-18']!.settled)).toEqual(['d-8']);
  });

  describe('corrupt files', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['not JSON', '{"format": "agentvisor-quota-ledger", "version": 1,', /not valid JSON at line 1/],
      ['empty', '', /empty/],
      ['another format', '{"format":"something-else","version":1}', /"format" is not "agentvisor-quota-ledger"/],
      [
        'kept by a malformed reset',
        '{"format":"agentvisor-quota-ledger","version":2,"dailyReset":{"at":"25:00","timeZone":"UTC"},"reservations":{},"days":{}}',
        /"dailyReset.at" must be HH:MM/,
      ],
      [
        'a newer version',
        '{"format":"agentvisor-quota-ledger","version":3,"reservations":{},"days":{}}',
        /"version" is 3/,
      ],
      [
        'a negative count',
        '{"format":"agentvisor-quota-ledger","version":1,"reservations":{"a":{"provider":"claude","tokens":-1,"expiresAt":1}},"days":{}}',
        /tokens must be a whole number/,
      ],
      [
        'an unknown provider',
        '{"format":"agentvisor-quota-ledger","version":1,"reservations":{},"days":{"2026-03-10":{"used":{"claude":1,"openai":0},' +
          '"settled":{"x":{"provider":"gemini","usedTokens":1,"returnedTokens":0}},"expired":{}}}}',
        /provider must be one of claude, openai/,
      ],
    ];

    it.each(cases)(
      'should refuse a file that is %s with ledger-corrupt and leave it byte for byte',
      async (_label, content, problem) => {
        const file = freshFile();
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        fs.writeFileSync(file, content, { mode: 0o600 });
        const before = { bytes: fs.readFileSync(file), mtimeMs: fs.statSync(file).mtimeMs };
        const ledger = open(file);
        for (const call of [
          ledger.reserve({ provider: 'claude', sessionId: 'a', tokens: 1, leaseMs: HOUR }),
          ledger.settle('a', 1, 'claude'),
          ledger.snapshot(),
          ledger.sweep(),
        ]) {
          const error = await expectRejection(call, 'ledger-corrupt');
          expect(error.details.file).toBe(file);
          expect(String(error.details.problem)).toMatch(problem);
          expect(error.message).toContain(file);
          expect(error.message).toMatch(/left exactly as it is/);
        }
        expect(fs.readFileSync(file).equals(before.bytes)).toBe(true);
        expect(fs.statSync(file).mtimeMs).toBe(before.mtimeMs);
        expect(fs.readdirSync(path.dirname(file))).toEqual(['ledger.json']);
      },
    );
  });

  it('should fail with ledger-unavailable when the folder cannot be created or written', async () => {
    const blocker = path.join(tmp, `blocker-${(seq += 1)}`);
    fs.writeFileSync(blocker, 'not a folder');
    const error = await expectRejection(open(path.join(blocker, 'ledger.json')).snapshot(), 'ledger-unavailable');
    expect(error.details).toMatchObject({ backend: 'file', file: path.join(blocker, 'ledger.json') });
    // mkdir -p reports a file in the way as EEXIST (Linux) or ENOTDIR.
    expect(error.message).toMatch(
      /^Could not create the folder of ledger file .*ledger\.json \((EEXIST|ENOTDIR)\)\. Nothing was reserved or settled/,
    );
    if (process.getuid?.() !== 0) {
      // Permission bits do not bind root; CI runs as root, developers usually not.
      const locked = path.join(tmp, `readonly-${(seq += 1)}`);
      fs.mkdirSync(locked, { mode: 0o500 });
      await expectRejection(open(path.join(locked, 'ledger.json')).snapshot(), 'ledger-unavailable', 'EACCES');
      fs.chmodSync(locked, 0o700);
    }
  });

  it('should say what to do when the lock path is a file, not the folder agentvisor locks with, and leave it', async () => {
    const file = freshFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.lock`, '');
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(`${file}.lock`, old, old);
    const error = await expectRejection(open(file).snapshot(), 'ledger-unavailable', 'ENOTDIR');
    expect(error.message).toContain(`${file}.lock is a file, not the folder agentvisor locks with`);
    expect(error.message).toMatch(/remove it/);
    expect(fs.statSync(`${file}.lock`).isFile()).toBe(true);
  });

  it('should time out on a lock another process holds, and take over a stale one', async () => {
    const file = freshFile();
    fs.mkdirSync(`${file}.lock`, { recursive: true });
    const ledger = open(file, { lockTimeoutMs: 300 });
    const started = Date.now();
    const error = await expectRejection(
      ledger.reserve({ provider: 'claude', sessionId: 'a', tokens: 1, leaseMs: HOUR }),
      'ledger-unavailable',
      'lock-timeout',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(error.retryAfterMs).toBe(1000);
    expect(fs.existsSync(file)).toBe(false);
    // The holder died 20 s ago: its lock is stale (default lockStaleMs 10 s) and is taken over.
    const past = new Date(Date.now() - 20_000);
    fs.utimesSync(`${file}.lock`, past, past);
    expect((await ledger.reserve({ provider: 'claude', sessionId: 'a', tokens: 1, leaseMs: HOUR })).status).toBe(
      'reserved',
    );
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it('should keep limits exact for 4 processes sharing one file (max 10 held, totals exact)', async () => {
    const file = freshFile();
    const events = path.join(tmp, `events-${(seq += 1)}.log`);
    const spec = {
      backend: 'file' as const,
      file,
      events,
      limits: LIMITS,
      loops: 4,
      cycles: 12,
      tokens: 100,
      leaseMs: 60_000,
      holdMs: 40,
      usedBase: 10,
      usedSpread: 7,
    };
    const limits = { ...LIMITS, claude: { dailyLimit: 10_000_000, maxConcurrent: 10 } };
    const workers = await startTogether(Array.from({ length: 4 }, (_, w) => ({ ...spec, limits, name: `w${w}` })));
    const summaries = await Promise.all(workers.map((w) => w.summary));
    const perLoop = Array.from({ length: 12 }, (_, i) => 10 + (i % 7)).reduce((a, b) => a + b, 0);
    expect(summaries.map((s) => s.settled)).toEqual([48, 48, 48, 48]);
    expect(summaries.reduce((sum, s) => sum + s.used, 0)).toBe(16 * perLoop);

    const lines = fs.readFileSync(events, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l.startsWith('+ '))).toHaveLength(192);
    const overlap = maxOverlap(lines);
    expect(overlap).toBeLessThanOrEqual(10);
    // The limit was binding: the processes wanted more than 10 slots and were refused.
    expect(overlap).toBeGreaterThanOrEqual(5);
    expect(summaries.reduce((sum, s) => sum + (s.refusals['concurrency-limit'] ?? 0), 0)).toBeGreaterThan(0);

    const ledger = open(file, { limits });
    expect((await ledger.snapshot()).providers.claude).toEqual({
      dailyLimit: 10_000_000,
      maxConcurrent: 10,
      used: 16 * perLoop,
      reserved: 0,
      active: 0,
      overrun: 0,
    });
    const content = readLedgerFile(file);
    const settled = Object.values(content.days).flatMap((d) => Object.keys(d.settled));
    expect(new Set(settled).size).toBe(192);
    expect(content.reservations).toEqual({});
  });

  it('should keep every settled usage of a process killed with SIGKILL and expire its leases', async () => {
    const file = freshFile();
    const events = path.join(tmp, `events-${(seq += 1)}.log`);
    const leaseMs = 1_500;
    const lockStaleMs = 2_000;
    const worker = startLedgerWorker({
      backend: 'file',
      name: 'victim',
      file,
      events,
      limits: LIMITS,
      lockStaleMs,
      loops: 2,
      cycles: 1_000_000,
      tokens: 100,
      leaseMs,
      holdMs: 2,
      usedBase: 5,
      usedSpread: 11,
      holdForever: 3,
      renewEveryMs: 300,
    });
    await worker.waitForLine('holding');
    // Let it settle a few dozen sessions, then kill it wherever it is (often inside a write).
    const deadline = Date.now() + 20_000;
    while (
      Date.now() < deadline &&
      (fs.existsSync(events)
        ? fs
            .readFileSync(events, 'utf8')
            .split('\n')
            .filter((l) => l.startsWith('s ')).length
        : 0) < 30
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    worker.child.kill('SIGKILL');
    await worker.exited;
    const killedAt = Date.now();

    const logged = fs
      .readFileSync(events, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('s '))
      .map((l) => l.split(' '));
    expect(logged.length).toBeGreaterThanOrEqual(30);
    // The file is whole (rename is atomic) whatever the kill interrupted; the renewed holds were live.
    const content = readLedgerFile(file);
    const holds = Object.entries(content.reservations).filter(([id]) => id.startsWith('victim-hold-'));
    expect(holds).toHaveLength(3);
    for (const [, r] of holds) expect(r.expiresAt).toBeGreaterThan(killedAt);

    const ledger = open(file, { lockStaleMs });
    const right = await ledger.snapshot();
    const settled = Object.assign(
      {},
      ...Object.values(content.days).map((d) => d.settled),
    ) as FileContent['days'][string]['settled'];
    for (const [, id, used] of logged) expect(settled[id!]?.usedTokens).toBe(Number(used));
    const totalSettled = Object.values(settled).reduce((sum, s) => sum + s.usedTokens, 0);
    expect(right.providers.claude.used).toBe(totalSettled);

    // Within one lease period (plus a stale lock's take-over) every slot and token is back.
    let now = right;
    while (now.providers.claude.active > 0 && Date.now() - killedAt < leaseMs + lockStaleMs + 2_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      now = await ledger.snapshot();
    }
    expect(now.providers.claude).toMatchObject({ used: totalSettled, reserved: 0, active: 0 });
    expect(Date.now() - killedAt).toBeLessThan(leaseMs + lockStaleMs + 2_000);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Secret, createManualClock, createOrchestrator, isAgentvisorError } from '../../src';
import type { AuthResult } from '../../machines/agentSession.types';
import { AUDIT_FILE, AuditTrail, SecretMasker, appendAuditEntry, resolveAuditOptions } from '../../src/observability';
import type { AuditEntry } from '../../src/observability';
import { errorOf } from '../helpers/orchestratorFixtures';
import { HOUR, at } from '../helpers/timeOrigin';

const KEY = 'sk-ant-api03-AuditTestClaudeKey-0123456789Wxyz';
const TOKEN_1 = 'opaque-audit-token-first-0011223344';
const TOKEN_2 = 'opaque-audit-token-second-5566778899';
/** 22:00Z: two hours before the daily reset, which the orchestrator scenario crosses. */
const START = at(10 * HOUR);

let dir: string;

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'audit-test-')));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;
const readEntries = (file: string): AuditEntry[] =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as AuditEntry)
    : [];

function trail(
  options: { maxBytes?: number; keep?: number; flushIntervalMs?: number } = {},
  now = () => START,
): AuditTrail {
  return new AuditTrail(resolveAuditOptions({ dir: path.join(dir, 'audit'), ...options }, dir)!, { now });
}

describe('resolveAuditOptions', () => {
  it('should be off for undefined and false, and use $home/audit, 10 MiB, 5 files and 1 s for true', () => {
    expect(resolveAuditOptions(undefined, '/h')).toBeNull();
    expect(resolveAuditOptions(false, '/h')).toBeNull();
    expect(resolveAuditOptions(true, '/h')).toEqual({
      dir: path.join('/h', 'audit'),
      maxBytes: 10 * 1024 * 1024,
      keep: 5,
      flushIntervalMs: 1000,
      home: '/h',
    });
    expect(resolveAuditOptions({ dir: '/elsewhere', maxBytes: 4096, keep: 0 }, '/h')).toEqual({
      dir: '/elsewhere',
      maxBytes: 4096,
      keep: 0,
      flushIntervalMs: 1000,
      home: '/h',
    });
  });
});

describe('the audit option of createOrchestrator', () => {
  it.each([
    [{ maxBytes: 10 }, 'audit.maxBytes', 'audit.maxBytes must be a whole number from 1024 to 1099511627776, got 10'],
    [{ keep: -1 }, 'audit.keep', 'audit.keep must be a whole number from 0 to 1000, got -1'],
    [{ keep: 1.5 }, 'audit.keep', 'audit.keep must be a whole number from 0 to 1000, got 1.5'],
    [
      { flushIntervalMs: 0 },
      'audit.flushIntervalMs',
      'audit.flushIntervalMs must be a whole number from 1 to 2147483647, got 0',
    ],
    [{ dir: '' }, 'audit.dir', 'audit.dir must be a folder path'],
    [
      { maxbytes: 5000 },
      'audit.maxbytes',
      'audit.maxbytes is not an option; did you mean maxBytes? (known: dir, maxBytes, keep, flushIntervalMs)',
    ],
    ['yes', 'audit', 'audit must be true, false or an object such as { maxBytes: 10485760, keep: 5 }, got "yes"'],
  ])('should refuse %j with invalid-option naming the field', async (value, option, message) => {
    const error = await errorOf(() => createOrchestrator({ home: dir, env: {}, audit: value as never }));
    expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
    expect((error as Error).message).toBe(message);
    expect((error as { details: { option: string } }).details.option).toBe(option);
  });
});

describe('AuditTrail', () => {
  it('should only buffer on record, then append the entries in order on flush: file 0600 in a folder 0700', async () => {
    const t = trail();
    t.record({ event: 'agent.refused', agentId: 'a1', reason: 'concurrency-limit', code: 'concurrency-limit' });
    t.record({
      event: 'agent.fallback',
      agentId: 'a2',
      sessionId: 's2',
      provider: 'claude',
      to: 'openai',
      reason: 'overloaded',
    });
    const file = path.join(dir, 'audit', AUDIT_FILE);
    expect(fs.existsSync(file)).toBe(false);
    await t.flush();
    expect(readEntries(file)).toEqual([
      {
        ts: '2026-01-01T22:00:00.000Z',
        event: 'agent.refused',
        sessionId: null,
        agentId: 'a1',
        provider: null,
        reason: 'concurrency-limit',
        code: 'concurrency-limit',
      },
      {
        ts: '2026-01-01T22:00:00.000Z',
        event: 'agent.fallback',
        sessionId: 's2',
        agentId: 'a2',
        provider: 'claude',
        reason: 'overloaded',
        to: 'openai',
      },
    ]);
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(path.join(dir, 'audit'))).toBe(0o700);
    await t.close();
  });

  it('should append on its own after flushIntervalMs', async () => {
    const t = trail({ flushIntervalMs: 10 });
    t.record({ event: 'quota.reset', reason: 'daily window started', day: '2026-01-02' });
    const file = path.join(dir, 'audit', AUDIT_FILE);
    for (let i = 0; i < 100 && !fs.existsSync(file); i += 1) await new Promise((r) => setTimeout(r, 10));
    await t.flush();
    expect(readEntries(file).map((e) => e.event)).toEqual(['quota.reset']);
  });

  it('should append at once when 500 entries are waiting', async () => {
    const t = trail({ flushIntervalMs: 60_000 });
    for (let i = 0; i < 500; i += 1) t.record({ event: 'agent.refused', agentId: `a${i}`, reason: 'queue-full' });
    const file = path.join(dir, 'audit', AUDIT_FILE);
    for (let i = 0; i < 200 && readEntries(file).length < 500; i += 1) await new Promise((r) => setTimeout(r, 10));
    expect(readEntries(file)).toHaveLength(500);
    await t.close();
  });

  it('should rotate before maxBytes, keep `keep` old files, and lose only the oldest lines', async () => {
    const t = trail({ maxBytes: 1024, keep: 2 });
    // Each line is about 150 bytes: 6 fit in 1 KiB.
    for (let i = 0; i < 40; i += 1)
      t.record({
        event: 'agent.refused',
        agentId: `agent-${String(i).padStart(3, '0')}`,
        reason: 'quota-exhausted',
        code: 'quota-exhausted',
      });
    await t.close();
    const folder = path.join(dir, 'audit');
    expect(fs.readdirSync(folder).sort()).toEqual(['audit.1.jsonl', 'audit.2.jsonl', 'audit.jsonl']);
    for (const name of fs.readdirSync(folder)) {
      expect(fs.statSync(path.join(folder, name)).size).toBeLessThanOrEqual(1024);
      expect(modeOf(path.join(folder, name))).toBe(0o600);
    }
    const lineBytes =
      Buffer.byteLength(fs.readFileSync(path.join(folder, 'audit.1.jsonl'), 'utf8').split('\n')[0]!) + 1;
    const perFile = Math.floor(1024 / lineBytes);
    const kept = ['audit.2.jsonl', 'audit.1.jsonl', 'audit.jsonl'].flatMap((name) =>
      readEntries(path.join(folder, name)).map((e) => Number(e.agentId!.slice(6))),
    );
    expect(readEntries(path.join(folder, 'audit.2.jsonl'))).toHaveLength(perFile);
    expect(readEntries(path.join(folder, 'audit.1.jsonl'))).toHaveLength(perFile);
    // The newest lines, in order, with nothing missing in between.
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 40 - kept.length + i));
    expect(kept.length).toBe(2 * perFile + (40 % perFile || perFile));
  });

  it('should keep only the current file with keep 0', async () => {
    const t = trail({ maxBytes: 1024, keep: 0 });
    for (let i = 0; i < 20; i += 1) t.record({ event: 'agent.refused', agentId: `agent-${i}`, reason: 'queue-full' });
    await t.close();
    expect(fs.readdirSync(path.join(dir, 'audit'))).toEqual(['audit.jsonl']);
  });

  it('should narrow an existing file that is readable by others to 0600', async () => {
    const folder = path.join(dir, 'audit');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, AUDIT_FILE), '', { mode: 0o644 });
    fs.chmodSync(path.join(folder, AUDIT_FILE), 0o644);
    const t = trail();
    t.record({ event: 'auth.logout', provider: 'claude' });
    await t.close();
    expect(modeOf(path.join(folder, AUDIT_FILE))).toBe(0o600);
  });

  it('should mask registered secrets and key-shaped text in every field', async () => {
    const masker = new SecretMasker();
    masker.add(TOKEN_1);
    const t = new AuditTrail(resolveAuditOptions({ dir }, dir)!, { masker, now: () => START });
    t.record({
      event: 'auth.failed',
      provider: 'claude',
      code: 'auth-failed',
      reason: `token ${TOKEN_1} refused; key ${KEY} invalid`,
    });
    await t.close();
    const text = fs.readFileSync(path.join(dir, AUDIT_FILE), 'utf8');
    expect(text).not.toContain(TOKEN_1);
    expect(text).not.toContain(KEY);
    expect(readEntries(path.join(dir, AUDIT_FILE))[0]!.reason).toBe(
      'token [REDACTED] refused; key sk-ant-…Wxyz invalid',
    );
  });

  it('should report a write failure to onError and keep going', async () => {
    const errors: unknown[] = [];
    const blocked = path.join(dir, 'file-not-folder');
    fs.writeFileSync(blocked, '');
    const t = new AuditTrail(resolveAuditOptions({ dir: blocked }, dir)!, { onError: (e) => errors.push(e) });
    t.record({ event: 'auth.login', provider: 'openai' });
    await t.close();
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('EEXIST');
  });
});

describe('appendAuditEntry', () => {
  it.each([
    ['no entry', null],
    ['a string for the entry', 'auth.login'],
    ['an unknown event', { event: 'auth.loggedin', provider: 'claude' }],
  ])('should refuse %s with invalid-option and write nothing', async (_what, entry) => {
    await expect(appendAuditEntry(dir, entry as never)).rejects.toMatchObject({
      code: 'invalid-option',
      message: expect.stringMatching(/entry/),
    });
    expect(fs.existsSync(path.join(dir, 'audit'))).toBe(false);
  });

  it('should append one entry to $home/audit/audit.jsonl at once, with only the audit fields', async () => {
    const entry = {
      event: 'auth.login',
      provider: 'claude',
      reason: 'api-key',
      source: 'file:claude_auth.json',
      apiKey: KEY,
    } as const;
    await appendAuditEntry(dir, entry, { now: START });
    await appendAuditEntry(
      dir,
      { event: 'auth.logout', provider: 'claude', reason: 'removed ANTHROPIC_API_KEY' },
      { now: START + 1000 },
    );
    const file = path.join(dir, 'audit', AUDIT_FILE);
    expect(readEntries(file)).toEqual([
      {
        ts: '2026-01-01T22:00:00.000Z',
        event: 'auth.login',
        sessionId: null,
        agentId: null,
        provider: 'claude',
        reason: 'api-key',
        source: 'file:claude_auth.json',
      },
      {
        ts: '2026-01-01T22:00:01.000Z',
        event: 'auth.logout',
        sessionId: null,
        agentId: null,
        provider: 'claude',
        reason: 'removed ANTHROPIC_API_KEY',
      },
    ]);
    expect(fs.readFileSync(file, 'utf8')).not.toContain('AuditTestClaudeKey');
    expect(modeOf(file)).toBe(0o600);
  });

  it.each([
    [{ keep: -1 }, 'keep', 'keep must be a whole number from 0 to 1000, got -1'],
    [
      { kep: 1 },
      'kep',
      'kep is not an option; did you mean keep? (known: dir, maxBytes, keep, flushIntervalMs, masker, now)',
    ],
    [{ masker: {} }, 'masker', 'masker must be a SecretMasker: an object with mask()'],
    [{ now: '2026-01-01' }, 'now', 'now must be epoch milliseconds, got "2026-01-01"'],
  ])('should refuse options %j with invalid-option, writing nothing', async (options, option, message) => {
    const error = await errorOf(() =>
      appendAuditEntry(dir, { event: 'auth.logout', provider: 'claude', reason: 'test' }, options as never),
    );
    expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
    expect((error as Error).message).toBe(message);
    expect((error as { details: { option: string } }).details.option).toBe(option);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('orchestrator with audit', () => {
  it('should record refusals, fallbacks, circuit changes, daily resets, auth failures and refreshes, and flush on stop', async () => {
    const clock = createManualClock(START);
    let claudeToken = TOKEN_1;
    const authenticate = ({ provider }: { provider: 'claude' | 'openai' }): AuthResult => {
      if (provider === 'openai') throw new Error(`401 from OpenAI: incorrect API key ${KEY}`);
      return {
        source: 'file:claude_auth.json',
        hint: 'sk-ant-oat01-…',
        secretEnv: { CLAUDE_CODE_OAUTH_TOKEN: new Secret(claudeToken) },
        env: {},
      };
    };
    const orch = createOrchestrator({
      home: dir,
      clock,
      authenticate,
      audit: true,
      fallbackChain: ['claude', 'openai'],
      limits: { claude: { maxConcurrent: 1 } },
      circuit: { allowedFailures: 0, minRequests: 1 },
    });
    await orch.start();
    const a = await orch.spawnAgent({ estimatedTokens: 100, agentId: 'a' });
    await errorOf(() => orch.spawnAgent({ estimatedTokens: 100, agentId: 'b', whenPreferredBusy: 'wait' }));
    // 529 opens claude's circuit; the fallback to openai fails to authenticate: the agent ends.
    await errorOf(() => a.reportFailure({ status: 529 }));
    clock.advance(60 * 60_000);
    claudeToken = TOKEN_2;
    const c = await orch.spawnAgent({ estimatedTokens: 100, agentId: 'c' });
    c.reportUsage({ inputTokens: 10, outputTokens: 5 }); // the half-open probe succeeds: the circuit closes
    await c.release();
    clock.advance(2 * 60 * 60_000); // past 00:00 UTC
    await orch.stop();

    const file = path.join(dir, 'audit', AUDIT_FILE);
    const entries = readEntries(file);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(TOKEN_1);
    expect(text).not.toContain(TOKEN_2);
    expect(text).not.toContain('AuditTestClaudeKey');
    const sessionOf = (agentId: string) =>
      entries.find((e) => e.agentId === agentId && e.sessionId !== null)?.sessionId;
    expect(entries.map(({ ts: _ts, ...rest }) => rest)).toEqual([
      {
        event: 'agent.refused',
        sessionId: null,
        agentId: 'b',
        provider: null,
        reason: 'concurrency-limit',
        code: 'concurrency-limit',
      },
      {
        event: 'provider.circuit',
        sessionId: null,
        agentId: null,
        provider: 'claude',
        reason: '1 failures in the window',
        state: 'open',
      },
      {
        event: 'agent.fallback',
        sessionId: sessionOf('a'),
        agentId: 'a',
        provider: 'claude',
        reason: 'overloaded',
        to: 'openai',
      },
      {
        event: 'auth.failed',
        sessionId: sessionOf('a'),
        agentId: 'a',
        provider: 'openai',
        reason: '401 from OpenAI: incorrect API key sk-ant-…Wxyz',
        code: 'auth-failed',
      },
      {
        event: 'auth.refresh',
        sessionId: sessionOf('c'),
        agentId: 'c',
        provider: 'claude',
        reason: 'token renewed',
        source: 'file:claude_auth.json',
      },
      {
        event: 'provider.circuit',
        sessionId: null,
        agentId: null,
        provider: 'claude',
        reason: '0 failures in the window',
        state: 'closed',
      },
      {
        event: 'quota.reset',
        sessionId: null,
        agentId: null,
        provider: null,
        reason: 'daily window started',
        day: '2026-01-02',
      },
    ]);
    expect(entries[0]!.ts).toBe('2026-01-01T22:00:00.000Z');
    expect(entries[6]!.ts).toBe('2026-01-02T00:00:00.000Z'); // the reset timer fires at midnight
  });

  it('should write nothing and create no folder without the option', async () => {
    const orch = createOrchestrator({
      home: dir,
      env: { ANTHROPIC_API_KEY: KEY },
      credentialSources: ['env'],
      clock: createManualClock(START),
    });
    await orch.start();
    await errorOf(() => orch.spawnAgent({ estimatedTokens: 10 ** 8 }));
    await orch.stop();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

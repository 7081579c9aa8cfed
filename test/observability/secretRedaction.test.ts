import { Writable } from 'node:stream';
import util from 'node:util';
import pino from 'pino';
import type { InspectionEvent } from 'xstate';
import { Secret, createManualClock, createOrchestrator, isAgentvisorError } from '../../src';
import type { ManagedAgent, Orchestrator } from '../../src';
import {
  EVENT_NAMES,
  FAKE_CLAUDE_KEY,
  FAKE_OPENAI_KEY,
  SECRET_FRAGMENTS,
  errorOf,
  flushMicrotasks,
} from '../helpers/orchestratorFixtures';
import { HOUR, T0, at } from '../helpers/timeOrigin';

/** JSON that tolerates cycles (a repeated object is written once, then as "[Circular]"). */
function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[Circular]';
      seen.add(v);
    }
    if (typeof v === 'bigint') return String(v);
    return v;
  });
}

function leaksIn(text: string, fragments: readonly string[] = SECRET_FRAGMENTS): string[] {
  return fragments.filter((f) => text.includes(f));
}

interface Captured {
  readonly logLines: string[];
  readonly inspections: string[];
  readonly events: string[];
  readonly errors: string[];
  readonly snapshots: string[];
}

function capturingLogger(lines: string[]) {
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return pino({ level: 'trace' }, stream);
}

function recordError(captured: Captured, error: unknown): void {
  const e = error as Error;
  captured.errors.push(
    safeJson(error),
    String(error),
    e.message ?? '',
    e.stack ?? '',
    util.inspect(error, { depth: 8 }),
  );
}

function takeSnapshots(orch: Orchestrator, captured: Captured): void {
  captured.snapshots.push(
    safeJson(orch.actor.getPersistedSnapshot()),
    safeJson(orch.actor.getSnapshot()),
    util.inspect(orch.actor.getSnapshot().context, { depth: 12 }),
  );
}

async function expectError(captured: Captured, call: () => unknown): Promise<void> {
  const error = await errorOf(call);
  expect(isAgentvisorError(error)).toBe(true);
  recordError(captured, error);
}

describe('secret redaction', () => {
  it('should keep both keys out of snapshots, events, errors, inspection events and log lines', async () => {
    const captured: Captured = { logLines: [], inspections: [], events: [], errors: [], snapshots: [] };
    // 23:00Z: an hour before the daily reset, so the scenario's three hours produce a quota.reset.
    const clock = createManualClock(at(11 * HOUR));
    const orch = createOrchestrator({
      env: {
        ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY,
        OPENAI_API_KEY: FAKE_OPENAI_KEY,
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010',
      },
      limits: { claude: { dailyLimit: 2_000, maxConcurrent: 2 }, openai: { dailyLimit: 2_000, maxConcurrent: 2 } },
      maxQueue: 1,
      // The scenario below walks the claude → openai chain.
      providerPriority: 'prefer-claude',
      clock,
      logger: capturingLogger(captured.logLines),
      inspect: (event: InspectionEvent) => {
        captured.inspections.push(safeJson(event));
      },
    });
    for (const name of EVENT_NAMES)
      orch.on(name, (payload: unknown) => captured.events.push(safeJson({ name, payload })));
    await orch.start();

    const a = await orch.spawnAgent({ estimatedTokens: 500, agentId: 'a', task: 'fix the build' });
    const b = await orch.spawnAgent({ estimatedTokens: 400, agentId: 'b', preferredProvider: 'openai' });
    // Positive control: the keys do reach the agents' env.
    expect(a.env.ANTHROPIC_API_KEY).toBe(FAKE_CLAUDE_KEY);
    expect(b.env.OPENAI_API_KEY).toBe(FAKE_OPENAI_KEY);
    takeSnapshots(orch, captured);

    a.reportUsage({ inputTokens: 100, outputTokens: 20 });
    await a.reportFailure({ status: 529, message: 'Overloaded' });
    expect(a.provider).toBe('openai');
    takeSnapshots(orch, captured);

    await expectError(captured, () => a.reportUsage({ inputTokens: -1, outputTokens: 0 }));
    await expectError(captured, () => a.reportFailure({ status: 400 }));
    await expectError(captured, () => a.reportFailure({ status: 200 }));
    await expectError(captured, () => orch.spawnAgent({ estimatedTokens: Number.NaN }));
    await expectError(captured, () => orch.spawnAgent({ estimatedTokens: 10, agentId: 'a' }));
    await expectError(captured, () => orch.getAgent('nobody'));
    await expectError(captured, () => orch.spawnAgent({ estimatedTokens: 1_900, agentId: 'big' }));
    const c = await orch.spawnAgent({ estimatedTokens: 10, agentId: 'c' });
    const d = await orch.spawnAgent({ estimatedTokens: 10, agentId: 'd' });
    await expectError(captured, () => orch.spawnAgent({ estimatedTokens: 10, agentId: 'e' }));
    const waiting = orch
      .spawnAgent({ estimatedTokens: 10, agentId: 'w', waitMs: 1_000 })
      .catch((error: unknown) => error);
    await expectError(captured, () => orch.spawnAgent({ estimatedTokens: 10, agentId: 'x', waitMs: 1_000 }));
    clock.advance(1_000);
    recordError(captured, await waiting);
    await expectError(captured, () => b.reportUsage({ inputTokens: 5_000, outputTokens: 0 }));
    await expectError(captured, () => b.reportUsage({ inputTokens: 1, outputTokens: 0 }));
    await c.release();
    await expectError(captured, () => c.release());
    takeSnapshots(orch, captured);

    clock.advance(3 * HOUR); // daily reset, then d and a expire
    expect(d.isLive).toBe(false);
    takeSnapshots(orch, captured);
    await orch.stop();
    takeSnapshots(orch, captured);
    await flushMicrotasks();

    const kinds = captured.events.map((e) => (JSON.parse(e) as { name: string }).name);
    expect(new Set(kinds)).toEqual(
      new Set([
        'agent.active',
        'agent.fallback',
        'agent.refused',
        'agent.queued',
        'quota.overrun',
        'quota.low',
        'agent.released',
        'quota.reset',
      ]),
    );
    expect(captured.logLines.length).toBeGreaterThan(10);
    expect(captured.inspections.length).toBeGreaterThan(10);
    expect(captured.errors.length).toBeGreaterThan(40);
    expect(captured.snapshots.length).toBe(15);

    // The secrets did pass through the inspected events and the snapshots, redacted.
    expect(captured.inspections.some((t) => t.includes('"ANTHROPIC_API_KEY":"[REDACTED]"'))).toBe(true);
    expect(captured.snapshots.some((t) => t.includes('"OPENAI_API_KEY":"[REDACTED]"'))).toBe(true);

    const everything: Array<[string, string[]]> = [
      ['log line', captured.logLines],
      ['inspection event', captured.inspections],
      ['event payload', captured.events],
      ['error', captured.errors],
      ['snapshot', captured.snapshots],
    ];
    for (const [kind, texts] of everything) {
      const leaks = texts.flatMap((text, i) => leaksIn(text).map((fragment) => `${kind} #${i} contains ${fragment}`));
      expect(leaks).toEqual([]);
    }
  });

  it('should keep a malformed key out of the auth-failed error and the log', async () => {
    const spacedKey = 'sk-ant-api03-FAKEspaced KEY-0123456789';
    const lines: string[] = [];
    const errors: string[] = [];
    const orch = createOrchestrator({
      env: { ANTHROPIC_API_KEY: spacedKey, OPENAI_API_KEY: '' },
      clock: createManualClock(T0),
      logger: capturingLogger(lines),
    });
    const events: string[] = [];
    for (const name of EVENT_NAMES) orch.on(name, (payload: unknown) => events.push(safeJson(payload)));
    await orch.start();
    const error = await errorOf(() => orch.spawnAgent({ estimatedTokens: 100 }));
    expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
    errors.push(safeJson(error), String(error), (error as Error).stack ?? '');
    const texts = [...lines, ...errors, ...events, safeJson(orch.actor.getPersistedSnapshot())];
    expect(texts.filter((t) => t.includes('FAKEspaced') || t.includes('KEY-0123456789'))).toEqual([]);
    expect(orch.stats().providers.claude).toMatchObject({ reserved: 0, active: 0 });
    expect(orch.stats().providers.openai).toMatchObject({ reserved: 0, active: 0 });
    await orch.stop();
  });

  it('should show a key only in agent.env: not in the handle, util.inspect of it, or a Secret', async () => {
    const orch = createOrchestrator({
      env: { ANTHROPIC_API_KEY: FAKE_CLAUDE_KEY, OPENAI_API_KEY: FAKE_OPENAI_KEY },
      clock: createManualClock(0),
    });
    await orch.start();
    const agent: ManagedAgent = await orch.spawnAgent({ estimatedTokens: 100 });
    expect(leaksIn(safeJson(agent))).toEqual([]);
    expect(leaksIn(util.inspect(agent, { depth: 6, getters: false }))).toEqual([]);
    const secret = new Secret(FAKE_CLAUDE_KEY);
    expect(JSON.stringify({ secret })).toBe('{"secret":"[REDACTED]"}');
    expect(String(secret)).toBe('[REDACTED]');
    expect(util.inspect(secret)).toBe('Secret([REDACTED])');
    expect(`${secret}`).toBe('[REDACTED]');
    expect(secret.reveal()).toBe(FAKE_CLAUDE_KEY);
    await orch.stop();
  });
});

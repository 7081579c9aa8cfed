/**
 * Orchestrators on a shared ledger: a restart restores the budget exactly, two orchestrators on one
 * file never exceed the global limits together, a dead Redis fails closed and recovers, and 4
 * processes × 200 spawns against one Redis never run more than 10 agents at once.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createOrchestrator, isAgentvisorError } from '../../src';
import type { Orchestrator, OrchestratorOptions } from '../../src';
import { createFileLedger, createRedisLedger } from '../../src/quota';
import { startRedisServer } from '../helpers/redisServer';
import type { RedisServer } from '../helpers/redisServer';

const KEY = 'sk-ant-api03-SHAREDledgerKEY-0001';
const LIMITS = {
  claude: { dailyLimit: 1_000_000, maxConcurrent: 10 },
  openai: { dailyLimit: 500_000, maxConcurrent: 8 },
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'shared-ledger-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

async function started(options: OrchestratorOptions): Promise<Orchestrator> {
  const orch = createOrchestrator({
    env: { ANTHROPIC_API_KEY: KEY },
    credentialSources: ['env'],
    fallbackChain: ['claude'],
    ...options,
  });
  await orch.start();
  return orch;
}

async function eventually(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('file ledger', () => {
  it('should restore the budget exactly after stop and a new orchestrator on the same file', async () => {
    const file = path.join(root, 'ledger.json');
    const first = await started({ ledger: { file } });
    const a = await first.spawnAgent({ estimatedTokens: 10_000 });
    a.reportUsage({ inputTokens: 200, outputTokens: 100 });
    const b = await first.spawnAgent({ estimatedTokens: 10_000 });
    b.reportUsage({ inputTokens: 50, outputTokens: 0 });
    await a.release();
    // b is still live when the orchestrator stops: stop releases it and settles its usage.
    await first.stop();
    const ledger = createFileLedger({ file, limits: LIMITS });
    expect((await ledger.snapshot()).providers.claude).toEqual({
      dailyLimit: 1_000_000,
      maxConcurrent: 10,
      used: 350,
      reserved: 0,
      active: 0,
      overrun: 0,
    });
    await ledger.close();

    const second = await started({ ledger: { file } });
    expect(second.stats().providers.claude).toMatchObject({
      used: 350,
      reserved: 0,
      active: 0,
      available: 1_000_000 - 350,
    });
    expect(second.stats().ledger).toEqual({ backend: 'file', state: 'ok', unsettled: 0 });
    await second.stop();
  });

  it('should keep two orchestrators on one file within the global concurrency limit together', async () => {
    const file = path.join(root, 'ledger.json');
    const options: OrchestratorOptions = {
      ledger: { file, syncIntervalMs: 20 },
      limits: { claude: { maxConcurrent: 3 } },
    };
    const one = await started(options);
    const two = await started(options);
    const held = await Promise.all([
      one.spawnAgent({ estimatedTokens: 1_000 }),
      one.spawnAgent({ estimatedTokens: 1_000 }),
      one.spawnAgent({ estimatedTokens: 1_000 }),
    ]);
    // `two` may still believe there is room: the ledger's atomic reserve refuses, and nothing is handed out.
    const refused = await two.spawnAgent({ estimatedTokens: 1_000 }).catch((e: unknown) => e);
    expect(isAgentvisorError(refused, 'concurrency-limit')).toBe(true);
    await eventually(
      () => two.stats().providers.claude.active === 3,
      "the second orchestrator to see the first one's agents",
    );
    await held[0]!.release();
    await eventually(() => two.stats().providers.claude.active === 2, 'the freed slot to show');
    const agent = await two.spawnAgent({ estimatedTokens: 1_000 });
    expect(agent.provider).toBe('claude');
    await one.stop();
    await two.stop();
    const ledger = createFileLedger({
      file,
      limits: { ...LIMITS, claude: { dailyLimit: 1_000_000, maxConcurrent: 3 } },
    });
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ reserved: 0, active: 0 });
    await ledger.close();
  });

  it('should settle freed slots in the ledger before the next admissions here reserve them (no spurious fallback)', async () => {
    const file = path.join(root, 'ledger.json');
    const orch = createOrchestrator({
      env: { ANTHROPIC_API_KEY: KEY, OPENAI_API_KEY: 'sk-proj-SHAREDledgerKEY-0002' },
      credentialSources: ['env'],
      providerPriority: 'prefer-claude',
      limits: { claude: { maxConcurrent: 3 } },
      ledger: { file },
    });
    await orch.start();
    const fallbacks: string[] = [];
    orch.on('agent.fallback', (e) => fallbacks.push(`${e.from}→${e.to} (${e.reason})`));
    let held = await Promise.all([0, 1, 2].map(() => orch.spawnAgent({ estimatedTokens: 1_000 })));
    for (let round = 0; round < 10; round += 1) {
      for (const agent of held) agent.reportUsage({ inputTokens: 10, outputTokens: 0 });
      // Three releases free three local slots at once; three spawns are admitted in the same tick,
      // while the settlements of the releases are still on their way to the file.
      const released = held.map((agent) => agent.release());
      const next = [0, 1, 2].map(() => orch.spawnAgent({ estimatedTokens: 1_000 }));
      await Promise.all(released);
      held = await Promise.all(next);
      expect(held.map((a) => a.provider)).toEqual(['claude', 'claude', 'claude']);
    }
    await Promise.all(held.map((agent) => agent.release()));
    expect(fallbacks).toEqual([]);
    await orch.stop();
    const ledger = createFileLedger({
      file,
      limits: { ...LIMITS, claude: { dailyLimit: 1_000_000, maxConcurrent: 3 } },
    });
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ used: 300, reserved: 0, active: 0 });
    await ledger.close();
  });

  it('should refuse a ledger option it does not know with invalid-option', () => {
    for (const ledger of [
      'sqlite',
      { file: '' },
      { file: 'a', redis: 'redis://x' },
      { file: 'a', whenUnavailable: 'open' },
      { file: 'a', leaseMs: 0 },
    ]) {
      let error: unknown;
      try {
        createOrchestrator({ env: {}, ledger: ledger as never });
      } catch (e) {
        error = e;
      }
      expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
    }
  });
});

describe('Redis ledger', () => {
  let server: RedisServer;
  beforeEach(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('should fail closed while Redis is down, say so with an event, and recover by itself', async () => {
    const orch = await started({ ledger: { redis: server.url, syncIntervalMs: 30 } });
    const events: string[] = [];
    orch.on('ledger.degraded', () => events.push('degraded'));
    orch.on('ledger.recovered', () => events.push('recovered'));
    const before = await orch.spawnAgent({ estimatedTokens: 1_000 });
    before.reportUsage({ inputTokens: 40, outputTokens: 2 });
    await server.kill();
    await eventually(() => orch.stats().ledger.state === 'degraded', 'the link to notice the dead Redis');
    const refused = await orch.spawnAgent({ estimatedTokens: 1_000 }).catch((e: unknown) => e);
    expect(isAgentvisorError(refused, 'ledger-unavailable')).toBe(true);
    // Usage of a session that ends while Redis is down waits for it; nothing is dropped. release()
    // does not pretend the settlement is durable: it says the ledger could not take it.
    const released = await before.release().catch((e: unknown) => e);
    expect(isAgentvisorError(released, 'ledger-unavailable')).toBe(true);
    expect(before.isLive).toBe(false);
    expect(orch.stats().ledger.unsettled).toBe(1);
    await server.restart();
    await eventually(
      () => orch.stats().ledger.state === 'ok' && orch.stats().ledger.unsettled === 0,
      'the link to recover and settle',
      5_000,
    );
    expect(events).toEqual(['degraded', 'recovered']);
    const after = await orch.spawnAgent({ estimatedTokens: 1_000 });
    await after.release();
    await orch.stop();
    // The restarted server is empty (no persistence): what it holds now is what reached it after the restart.
    const ledger = createRedisLedger({ redis: server.url, limits: LIMITS });
    expect((await ledger.snapshot()).providers.claude).toMatchObject({ used: 42, reserved: 0, active: 0 });
    await ledger.close();
  });

  it('should never run more than 10 agents at once across 4 processes × 200 spawns, settle every reservation and count usage exactly', async () => {
    const keyPrefix = `agentvisor-orch-test-${process.pid}:`;
    const heldKey = `${keyPrefix}independent-held`;
    const spec = {
      url: server.url,
      keyPrefix,
      heldKey,
      loops: 8,
      cycles: 25,
      maxConcurrent: 10,
      dailyLimit: 10_000_000,
      estimate: 500,
      use: 100,
    };
    const worker = path.join(__dirname, '..', 'helpers', 'orchestratorLedgerWorker.ts');
    const children = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', worker, JSON.stringify(spec)], {
        cwd: path.join(__dirname, '..', '..'),
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
    const outputs = children.map((child) => {
      let out = '';
      let err = '';
      child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
      return {
        ready: (async () => {
          while (!out.includes('ready\n')) {
            if (child.exitCode !== null) throw new Error(`worker exited early: ${err}`);
            await sleep(20);
          }
        })(),
        done: new Promise<{ completed: number; used: number; maxHeld: number; refusals: number }>((resolve, reject) =>
          child.on('exit', (code) =>
            code === 0
              ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}'))
              : reject(new Error(`worker exited ${code}: ${err}`)),
          ),
        ),
      };
    });
    await Promise.all(outputs.map((o) => o.ready));
    for (const child of children) child.stdin!.end('go\n');
    const summaries = await Promise.all(outputs.map((o) => o.done));
    expect(summaries.map((s) => s.completed)).toEqual([200, 200, 200, 200]);
    const maxHeld = Math.max(...summaries.map((s) => s.maxHeld));
    expect(maxHeld).toBeLessThanOrEqual(10);
    expect(maxHeld).toBeGreaterThanOrEqual(2);
    const ledger = createRedisLedger({
      redis: server.url,
      keyPrefix,
      limits: { ...LIMITS, claude: { dailyLimit: 10_000_000, maxConcurrent: 10 } },
    });
    expect((await ledger.snapshot()).providers.claude).toEqual({
      dailyLimit: 10_000_000,
      maxConcurrent: 10,
      used: 800 * 100,
      reserved: 0,
      active: 0,
      overrun: 0,
    });
    await ledger.close();
    const redis = new Redis(server.url);
    expect(await redis.get(heldKey)).toBe('0');
    await redis.quit();
  }, 120_000);
});

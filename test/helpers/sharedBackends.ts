/**
 * The two shared ledgers the integrity tests run on: a file in a temp folder and a private
 * redis-server (each with its own key prefix), behind one small interface, so that every scenario
 * runs on both.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOrchestrator } from '../../src';
import type { Orchestrator, OrchestratorOptions } from '../../src';
import { createFileLedger, createRedisLedger } from '../../src/quota';
import type { LedgerSnapshot, QuotaLedger } from '../../src/quota';
import { startRedisServer } from './redisServer';
import type { RedisServer } from './redisServer';

export const TEST_KEY = 'sk-ant-api03-INTEGRITYledgerKEY-0001';

export type Limits = Record<'claude' | 'openai', { dailyLimit: number; maxConcurrent: number }>;

export interface SharedBackend {
  readonly name: 'file' | 'redis';
  /** The `ledger` option for an orchestrator (plus sharing settings). */
  option(sharing?: Record<string, unknown>): OrchestratorOptions['ledger'];
  /** A ledger of its own on the same books, to read what they say. */
  open(limits: Limits): QuotaLedger;
  /** Plain data a child process needs to open the same books: `{ file }` or `{ redis, keyPrefix }`. */
  readonly spec: Record<string, string>;
  dispose(): Promise<void>;
}

let redis: RedisServer | null = null;
let users = 0;

/** Makes a fresh backend of the kind (a new file; a new key prefix on the shared private Redis). */
export async function sharedBackend(name: 'file' | 'redis'): Promise<SharedBackend> {
  if (name === 'file') {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-integrity-'));
    const file = path.join(root, 'ledger.json');
    return {
      name,
      option: (sharing = {}) => ({ file, ...sharing }) as OrchestratorOptions['ledger'],
      open: (limits) => createFileLedger({ file, limits }),
      spec: { file },
      dispose: async () => fs.rmSync(root, { recursive: true, force: true }),
    };
  }
  redis ??= await startRedisServer();
  users += 1;
  const server = redis;
  const keyPrefix = `integrity-${process.pid}-${users}-${Date.now()}:`;
  return {
    name,
    option: (sharing = {}) => ({ redis: server.url, keyPrefix, ...sharing }) as OrchestratorOptions['ledger'],
    open: (limits) => createRedisLedger({ redis: server.url, keyPrefix, limits }),
    spec: { redis: server.url, keyPrefix },
    dispose: async () => {
      users -= 1;
      if (users === 0 && redis !== null) {
        await redis.stop();
        redis = null;
      }
    },
  };
}

/** An orchestrator on the backend with Claude only. */
export async function orchestratorOn(
  backend: SharedBackend,
  limits: Limits,
  sharing: Record<string, unknown> = {},
  extra: OrchestratorOptions = {},
): Promise<Orchestrator> {
  const orch = createOrchestrator({
    env: { ANTHROPIC_API_KEY: TEST_KEY },
    credentialSources: ['env'],
    fallbackChain: ['claude'],
    limits,
    ledger: backend.option(sharing),
    ...extra,
  });
  await orch.start();
  return orch;
}

/** What the books say now, read through a ledger of its own. */
export async function booksOf(backend: SharedBackend, limits: Limits): Promise<LedgerSnapshot> {
  const ledger = backend.open(limits);
  try {
    return await ledger.snapshot();
  } finally {
    await ledger.close();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

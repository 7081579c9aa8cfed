/**
 * Child process for the multi-process ledger tests. Run with
 * `node -r ts-node/register/transpile-only test/helpers/ledgerWorker.ts '<WorkerSpec as JSON>'`.
 *
 * It runs `loops` concurrent loops of `cycles` reserve → hold → settle cycles against one shared
 * ledger (file or Redis), retrying refusals, and records what it held where the parent can check
 * it independently of the ledger:
 * - file: lines appended (O_APPEND, one write each) to `events`: `+ <id>` after a reserve resolved,
 *   `- <id>` before its settle starts, `s <id> <used>` after the settle resolved. The file's line
 *   order is the global order of these events across processes.
 * - redis: INCR `heldKey` after a reserve resolved and DECR before settle (the reply is how many
 *   sessions were held at that instant); INCRBY `budgetKey` with the tokens after reserve and minus
 *   the returned part before settle (used + reserved as the workers see it).
 * With `barrier` it prints `ready` and waits for `go` on stdin first.
 * With `holdForever` it first takes that many reservations it never settles but renews every
 * `renewEveryMs`, prints `holding`, and keeps going (the kill tests SIGKILL it); with `loops: 0`
 * it then only renews its holds until killed. At the end it prints one JSON line: its summary.
 */
import fs from 'node:fs';
import { Redis } from 'ioredis';
import { createFileLedger, createRedisLedger } from '../../src/quota';
import type { LedgerConfig, QuotaLedger } from '../../src/quota';

export interface WorkerSpec {
  readonly backend: 'file' | 'redis';
  readonly name: string;
  readonly limits: LedgerConfig['limits'];
  readonly loops: number;
  readonly cycles: number;
  readonly tokens: number;
  readonly leaseMs: number;
  readonly holdMs: number;
  readonly holdForever?: number;
  /** Print `ready` and wait for a `go` line on stdin before the cycles, so that all workers start together. */
  readonly barrier?: boolean;
  /** How often the `holdForever` leases are renewed (to leaseMs from then), as a live holder would. */
  readonly renewEveryMs?: number;
  /** Tokens used by cycle `i` of a loop: `usedBase + (i % usedSpread)`. */
  readonly usedBase: number;
  readonly usedSpread: number;
  readonly file?: string;
  readonly lockStaleMs?: number;
  readonly events?: string;
  readonly redisUrl?: string;
  readonly keyPrefix?: string;
  readonly heldKey?: string;
  readonly budgetKey?: string;
}

export interface WorkerSummary {
  readonly name: string;
  readonly settled: number;
  readonly used: number;
  readonly refusals: Record<string, number>;
  readonly maxHeld: number;
  readonly maxBudget: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as WorkerSpec;
  const counter = spec.backend === 'redis' ? new Redis(spec.redisUrl!) : null;
  const ledger: QuotaLedger =
    spec.backend === 'file'
      ? createFileLedger({
          file: spec.file!,
          limits: spec.limits,
          lockStaleMs: spec.lockStaleMs ?? 10_000,
          lockTimeoutMs: 60_000,
        })
      : createRedisLedger({ redis: spec.redisUrl!, keyPrefix: spec.keyPrefix!, limits: spec.limits, timeout: 10_000 });
  const refusals: Record<string, number> = {};
  let settled = 0;
  let used = 0;
  let maxHeld = 0;
  let maxBudget = 0;
  const event = (line: string) => {
    if (spec.events !== undefined) fs.appendFileSync(spec.events, `${line}\n`);
  };

  async function held(id: string): Promise<void> {
    event(`+ ${id}`);
    if (counter) {
      const [heldNow, budgetNow] = await Promise.all([
        counter.incr(spec.heldKey!),
        counter.incrby(spec.budgetKey!, spec.tokens),
      ]);
      maxHeld = Math.max(maxHeld, heldNow);
      maxBudget = Math.max(maxBudget, budgetNow);
    }
  }

  async function releasing(id: string, usedTokens: number): Promise<void> {
    event(`- ${id}`);
    if (counter)
      await Promise.all([
        counter.decr(spec.heldKey!),
        counter.incrby(spec.budgetKey!, -Math.max(0, spec.tokens - usedTokens)),
      ]);
  }

  async function reserveUntilAdmitted(id: string): Promise<void> {
    for (;;) {
      const outcome = await ledger.reserve({
        provider: 'claude',
        sessionId: id,
        tokens: spec.tokens,
        leaseMs: spec.leaseMs,
      });
      if (outcome.status === 'reserved') return;
      refusals[outcome.code] = (refusals[outcome.code] ?? 0) + 1;
      await sleep(2 + Math.random() * 8);
    }
  }

  const holds = Array.from({ length: spec.holdForever ?? 0 }, (_, h) => `${spec.name}-hold-${h}`);
  for (const id of holds) await reserveUntilAdmitted(id);
  const renewer =
    holds.length > 0
      ? setInterval(
          () => void Promise.all(holds.map((id) => ledger.renew(id, spec.leaseMs))),
          spec.renewEveryMs ?? spec.leaseMs / 3,
        )
      : null;
  if (spec.holdForever !== undefined) process.stdout.write('holding\n');
  // Only holding: stay alive (the renew timer keeps the process running) until killed.
  if (spec.loops === 0) return;

  if (spec.barrier === true) {
    process.stdout.write('ready\n');
    await new Promise<void>((resolve) => {
      let input = '';
      process.stdin.setEncoding('utf8').on('data', (chunk: string) => {
        input += chunk;
        if (input.includes('go\n')) {
          // A stdin handle left open would keep this process alive after its work.
          process.stdin.destroy();
          resolve();
        }
      });
    });
  }

  await Promise.all(
    Array.from({ length: spec.loops }, async (_, loop) => {
      for (let i = 0; i < spec.cycles; i += 1) {
        const id = `${spec.name}-${loop}-${i}`;
        const usedTokens = spec.usedBase + (i % spec.usedSpread);
        await reserveUntilAdmitted(id);
        await held(id);
        await sleep(spec.holdMs);
        await releasing(id, usedTokens);
        const result = await ledger.settle(id, usedTokens);
        event(`s ${id} ${result.usedTokens}`);
        settled += 1;
        used += result.usedTokens;
      }
    }),
  );
  if (renewer) clearInterval(renewer);
  await ledger.close();
  await counter?.quit();
  const summary: WorkerSummary = { name: spec.name, settled, used, refusals, maxHeld, maxBudget };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
  process.exit(1);
});

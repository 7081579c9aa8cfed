/**
 * `npm run bench:ledger`: reservations per second of agentvisor's quota ledgers (memory, file,
 * Redis), and in the same run, against the same Redis server, rate-limiter-flexible's
 * `RateLimiterRedis.consume` (and `RateLimiterMemory.consume` beside the memory ledger) at the same
 * concurrency: 64 operations in flight from one process, then from 4 processes at once.
 *
 * What is compared: one `reserve` (sweep expired leases, check the daily budget and the
 * concurrency slots, take a lease: in the Redis reserve script, which the reserves in flight in one
 * process share; one locked fsynced write per group commit on the file) against one `consume`
 * (increment a counter with a TTL: one Lua script each). Both run in worker processes of their own
 * (one per figure and repetition, in an order that rotates), start at the same instant and run for
 * the same time; the median of the repetitions is reported. rate-limiter-flexible's ioredis client
 * gets the options of the ledger's own connection; the auto-pipelining rows turn
 * `enableAutoPipelining` on for both clients.
 *
 * Redis: `REDIS_URL`, or a private `redis-server` started for the run. Options (after
 * `npm run bench:ledger --`): --json (the last stdout line is the JSON summary), --no-write (leave
 * docs/benchmarks.md alone), --quick (1 short repetition, nothing written), --reps N,
 * --duration-ms N, --in-flight N, --processes N.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchRedis } from './lib/benchRedis';
import { writeDocsSection } from './lib/docsSection';
import type { LoadKind, LoadSpec } from './ledgerWorker';
import { machineInfo } from './lib/machine';
import { median } from './lib/measure';

interface Options {
  readonly json: boolean;
  readonly write: boolean;
  readonly reps: number;
  readonly durationMs: number;
  readonly inFlight: number;
  readonly processes: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string, fallback: number): number => {
    const at = argv.indexOf(name);
    if (at < 0) return fallback;
    const n = Number(argv[at + 1]);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} needs a whole number > 0, got ${argv[at + 1]}`);
    return n;
  };
  const quick = argv.includes('--quick');
  return {
    json: argv.includes('--json'),
    write: !quick && !argv.includes('--no-write'),
    reps: value('--reps', quick ? 1 : 3),
    durationMs: value('--duration-ms', quick ? 500 : 2_000),
    inFlight: value('--in-flight', 64),
    processes: value('--processes', 4),
  };
}

interface Row {
  readonly name: string;
  readonly kind: LoadKind;
  readonly processes: number;
  readonly autoPipelining?: boolean;
}

let runs = 0;

/** Runs `processes` workers of one kind at once; returns operations per second, all processes together. */
async function measure(row: Row, options: Options, redisUrl: string, scratch: string): Promise<number> {
  runs += 1;
  const prefix = `bench-ledger-${process.pid}-${runs}:`;
  const target = row.kind === 'file' ? path.join(scratch, `ledger-${runs}.json`) : redisUrl;
  const worker = path.join(__dirname, 'ledgerWorker.js');
  const spec: LoadSpec = {
    kind: row.kind,
    target,
    prefix,
    inFlight: options.inFlight,
    durationMs: options.durationMs,
    autoPipelining: row.autoPipelining === true,
  };
  const children = Array.from({ length: row.processes }, () => {
    const child = spawn(process.execPath, [worker, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const ready = (async () => {
      while (!out.includes('ready\n')) {
        if (child.exitCode !== null) throw new Error(`${row.name}: ${err}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const done = new Promise<number>((resolve, reject) =>
      child.on('exit', (code) =>
        code === 0 ? resolve(Number(out.trim().split('\n').pop())) : reject(new Error(`${row.name}: ${err}`)),
      ),
    );
    return { child, ready, done };
  });
  // Every process is warm before any starts: they all start at the same instant.
  await Promise.all(children.map((c) => c.ready));
  const startAt = Date.now() + 100;
  for (const c of children) c.child.stdin.end(`${startAt}\n`);
  const counts = await Promise.all(children.map((c) => c.done));
  return counts.reduce((a, b) => a + b, 0) / (options.durationMs / 1000);
}

function formatRate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  // Other work on the machine moves every figure; the ratios, measured side by side, move less.
  const loadAtStart = os.loadavg()[0]!.toFixed(1);
  const redis = await benchRedis();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ledger-'));
  const n = options.processes;
  const rows: Row[] = [
    { name: 'memory reserve, 1 process', kind: 'memory', processes: 1 },
    { name: 'RateLimiterMemory consume, 1 process', kind: 'rlf-memory', processes: 1 },
    { name: 'file reserve, 1 process', kind: 'file', processes: 1 },
    { name: `file reserve, ${n} processes`, kind: 'file', processes: n },
    { name: 'Redis reserve, 1 process', kind: 'redis', processes: 1 },
    { name: 'RateLimiterRedis consume, 1 process', kind: 'rlf-redis', processes: 1 },
    { name: `Redis reserve, ${n} processes`, kind: 'redis', processes: n },
    { name: `RateLimiterRedis consume, ${n} processes`, kind: 'rlf-redis', processes: n },
    { name: 'Redis reserve, 1 process, auto-pipelining', kind: 'redis', processes: 1, autoPipelining: true },
    {
      name: 'RateLimiterRedis consume, 1 process, auto-pipelining',
      kind: 'rlf-redis',
      processes: 1,
      autoPipelining: true,
    },
    { name: `Redis reserve, ${n} processes, auto-pipelining`, kind: 'redis', processes: n, autoPipelining: true },
    {
      name: `RateLimiterRedis consume, ${n} processes, auto-pipelining`,
      kind: 'rlf-redis',
      processes: n,
      autoPipelining: true,
    },
  ];
  const samples = new Map<string, number[]>(rows.map((r) => [r.name, []]));
  try {
    for (let rep = 0; rep < options.reps; rep += 1) {
      // Rotate the order so that machine noise hits every row alike.
      const order = rows.map((_, i) => rows[(i + rep) % rows.length]!);
      for (const row of order) {
        const rate = await measure(row, options, redis.url, scratch);
        samples.get(row.name)!.push(rate);
        await redis.clear('bench-ledger-');
        if (!options.json) process.stderr.write(`  ${row.name}: ${formatRate(rate)}/s\n`);
      }
    }
  } finally {
    await redis.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const rate = (name: string) => median(samples.get(name)!);
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  const summary = {
    redis: {
      reservePerSec: Math.round(rate('Redis reserve, 1 process')),
      rlfConsumePerSec: Math.round(rate('RateLimiterRedis consume, 1 process')),
      ratio: ratio(rate('Redis reserve, 1 process'), rate('RateLimiterRedis consume, 1 process')),
      processes: n,
      reservePerSecAllProcesses: Math.round(rate(`Redis reserve, ${n} processes`)),
      rlfConsumePerSecAllProcesses: Math.round(rate(`RateLimiterRedis consume, ${n} processes`)),
      ratioAllProcesses: ratio(rate(`Redis reserve, ${n} processes`), rate(`RateLimiterRedis consume, ${n} processes`)),
    },
    redisAutoPipelining: {
      reservePerSec: Math.round(rate('Redis reserve, 1 process, auto-pipelining')),
      rlfConsumePerSec: Math.round(rate('RateLimiterRedis consume, 1 process, auto-pipelining')),
      ratio: ratio(
        rate('Redis reserve, 1 process, auto-pipelining'),
        rate('RateLimiterRedis consume, 1 process, auto-pipelining'),
      ),
      reservePerSecAllProcesses: Math.round(rate(`Redis reserve, ${n} processes, auto-pipelining`)),
      rlfConsumePerSecAllProcesses: Math.round(rate(`RateLimiterRedis consume, ${n} processes, auto-pipelining`)),
      ratioAllProcesses: ratio(
        rate(`Redis reserve, ${n} processes, auto-pipelining`),
        rate(`RateLimiterRedis consume, ${n} processes, auto-pipelining`),
      ),
    },
    file: {
      reservePerSec: Math.round(rate('file reserve, 1 process')),
      processes: n,
      reservePerSecAllProcesses: Math.round(rate(`file reserve, ${n} processes`)),
    },
    memory: {
      reservePerSec: Math.round(rate('memory reserve, 1 process')),
      rlfConsumePerSec: Math.round(rate('RateLimiterMemory consume, 1 process')),
      ratio: ratio(rate('memory reserve, 1 process'), rate('RateLimiterMemory consume, 1 process')),
    },
  };
  // Compiled into .bench-build/bench: the repository root is two levels up.
  const machine = machineInfo(path.join(__dirname, '..', '..'));
  const table = [
    '| Operation (64 in flight per process) | Operations/s (median of ' + options.reps + ') |',
    '| --- | ---: |',
    ...rows.map((r) => `| ${r.name} | ${formatRate(rate(r.name))} |`),
  ].join('\n');
  const text = [
    `Measured ${machine.date} on ${machine.cpu} (${machine.cores} cores, ${machine.memoryGiB} GiB, load average ${loadAtStart} when the run began), ` +
      `Node ${machine.node}, commit ${machine.commit}; ` +
      `Redis ${process.env.REDIS_URL ? 'at REDIS_URL' : 'a private redis-server on loopback (no persistence)'}, ` +
      `${options.durationMs} ms per run, ${options.inFlight} operations in flight per process.`,
    '',
    table,
    '',
    `Ratios (agentvisor reserve ÷ rate-limiter-flexible consume): Redis ${summary.redis.ratio} from 1 process, ` +
      `${summary.redis.ratioAllProcesses} from ${n} processes; ` +
      `with auto-pipelining on both clients ${summary.redisAutoPipelining.ratio} and ${summary.redisAutoPipelining.ratioAllProcesses}; ` +
      `memory ${summary.memory.ratio}. The target of issue 14 is a Redis ratio of at least 1.0.`,
    '',
    'A `reserve` does more than a `consume`: it sweeps expired leases, checks the daily budget and the concurrency slots and takes a lease; ' +
      '`consume` increments one counter with a TTL. On Redis both are Lua scripts. ' +
      'The reserves one process has in flight together share one reserve script call ' +
      '(group commit, up to 128, decided one by one in call order: key layout 2, decision D36); each `consume` is a script call of its own. ' +
      "Fairness: rate-limiter-flexible's ioredis client gets exactly the options of the connection the ledger opens for itself " +
      '(`ledgerConnectionOptions`: no offline queue, no retries, a 2 s command timeout); ' +
      'in the auto-pipelining rows both clients also get `enableAutoPipelining` (the ledger then uses that injected client). ' +
      'The file ledger takes a cross-process lock and fsyncs every group commit (all reserves waiting in one process share one write), ' +
      'so its figure is bounded by the disk; with several processes they take turns at the lock.',
  ].join('\n');
  if (!options.json) {
    process.stdout.write(
      `\n${table}\n\nRedis ratio: ${summary.redis.ratio} (1 process), ${summary.redis.ratioAllProcesses} (${n} processes); ` +
        `with auto-pipelining ${summary.redisAutoPipelining.ratio} and ${summary.redisAutoPipelining.ratioAllProcesses}; ` +
        `memory ratio ${summary.memory.ratio}\n`,
    );
  }
  if (options.write) {
    const docs = writeDocsSection('ledger', 'Quota ledger: reservations per second', text);
    if (!options.json) process.stdout.write(`wrote ${docs}\n`);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

/**
 * `npm run bench`: the spawn → active → usage → release cycle through agentvisor and three
 * baselines, side by side in one run, at 0, 1,000 and 10,000 live sessions held open.
 *
 * Every run happens in a worker process of its own: one per contender, live count and repetition.
 * So no contender's JIT feedback or heap affects another's figures (agentvisor and the naive
 * coordinator share XState's code; in one process each makes the other's inline caches
 * polymorphic), and the median of a figure is taken over three processes (the JIT's choices vary
 * from process to process). For each live count the runner opens every replica's gate and live
 * sessions (heap measured inside the worker around the opening), then runs the rows one after the
 * other in an order that rotates each repetition, so machine noise hits them alike. Each run is a
 * warm-up (which also sizes the runs on the first replica) followed at once by a fixed number of
 * timed cycles, sized for about `targetMs`. The books of every gate are checked at the end, so a
 * row that skipped work would be caught.
 *
 * Options (after `npm run bench --`): --quick (1 short run per figure, docs not written),
 * --reps N, --target-ms N, --warmup-ms N, --live 0,1000,10000, --no-write, --in-process (all
 * contenders in this process, to see the interference), --gc-each-run (full GC before each run).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONTENDERS } from './contenders';
import type { ContenderName } from './contenders';
import { FixtureDriver } from './lib/driver';
import type { Command, Opened, Replies, Reply } from './lib/driver';
import { machineInfo } from './lib/machine';
import { collectGarbage, median } from './lib/measure';
import { HEAP_LIVE, PRIMARY_ENTRANT, consoleReport, markdownReport, writeDocs } from './lib/report';
import type { Cell, HeapFigure, Lifecycle, Results } from './lib/report';
import type { RowInfo } from './lib/types';

interface Options {
  readonly liveCounts: readonly number[];
  readonly reps: number;
  readonly warmupMs: number;
  readonly targetMs: number;
  readonly write: boolean;
  readonly gcEachRun: boolean;
  readonly inProcess: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const number = (name: string, fallback: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number, got ${raw}`);
    return n;
  };
  const live = value('--live');
  const liveCounts = live === undefined ? [0, 1_000, 10_000] : live.split(',').map((s) => Number(s.replace(/_/g, '')));
  if (liveCounts.some((n) => !Number.isInteger(n) || n < 0) || !liveCounts.includes(0)) {
    throw new Error(`--live needs whole numbers including 0, got ${live}`);
  }
  return {
    liveCounts: [...new Set(liveCounts)].sort((a, b) => a - b),
    reps: Math.max(1, Math.floor(number('--reps', quick ? 1 : 3))),
    warmupMs: number('--warmup-ms', quick ? 200 : 500),
    targetMs: number('--target-ms', quick ? 200 : 850),
    write: !quick && !argv.includes('--no-write'),
    gcEachRun: argv.includes('--gc-each-run'),
    inProcess: argv.includes('--in-process'),
  };
}

/** One process configuration of one contender, with the rows it runs. */
interface Entrant {
  readonly id: string;
  readonly name: string;
  readonly contender: ContenderName;
  /** Extra node flags for its worker process. */
  readonly execArgv: readonly string[];
  /** Rows as the report shows them; `key` is `<entrant id>/<row key in the fixture>`. */
  readonly rows: readonly (RowInfo & { readonly fixtureRow: string })[];
}

function entrant(
  id: string,
  contender: ContenderName,
  options: { name?: string; execArgv?: string[]; only?: string[]; labelSuffix?: string } = {},
): Entrant {
  const c = CONTENDERS[contender];
  return {
    id,
    name: options.name ?? c.name,
    contender,
    execArgv: options.execArgv ?? [],
    rows: c.rows
      .filter((r) => !options.only || options.only.includes(r.key))
      .map((r) => ({
        ...r,
        key: `${id}/${r.key}`,
        fixtureRow: r.key,
        label: `${r.label}${options.labelSuffix ?? ''}`,
      })),
  };
}

const PRETENURING_OFF = '--no-allocation-site-pretenuring';

const ENTRANTS: readonly Entrant[] = [
  entrant(PRIMARY_ENTRANT, 'agentvisor'),
  entrant('mapGate', 'mapGate'),
  entrant('bottleneck', 'bottleneck'),
  entrant('naive', 'naive'),
  // Diagnostic, not a contender: the same agentvisor cycle with V8's allocation-site pretenuring
  // off (see docs/benchmarks.md, "Where the time goes").
  entrant('agentvisorNoPretenuring', 'agentvisor', {
    name: `agentvisor, node ${PRETENURING_OFF}`,
    execArgv: [PRETENURING_OFF],
    only: ['agentvisor.public'],
    labelSuffix: `, node ${PRETENURING_OFF}`,
  }),
];

interface DriverHandle {
  request<K extends Command['type']>(command: Extract<Command, { type: K }>): Promise<Replies[K]>;
  dispose(): Promise<void>;
}

/** A contender in a worker process of its own. */
function workerHandle(execArgv: readonly string[]): DriverHandle {
  const child: ChildProcess = fork(path.join(__dirname, 'worker.js'), [], {
    execArgv: ['--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let seq = 0;
  const waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  child.on('message', (message: { id: number; ok: boolean; reply?: Reply; error?: string }) => {
    const w = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.ok && message.reply !== undefined) w?.resolve(message.reply);
    else w?.reject(new Error(`benchmark worker failed: ${message.error ?? 'no reply'}`));
  });
  child.on('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`benchmark worker exited (code ${code}) before answering`));
    waiting.clear();
  });
  return {
    request<K extends Command['type']>(command: Extract<Command, { type: K }>): Promise<Replies[K]> {
      const id = ++seq;
      return new Promise<Replies[K]>((resolve, reject) => {
        // The worker answers a command of type K with Replies[K] (driver.ts).
        waiting.set(id, { resolve: resolve as (reply: Reply) => void, reject });
        child.send({ id, command });
      });
    },
    dispose: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

/** A contender in the runner's own process (--in-process). */
function inProcessHandle(): DriverHandle {
  const driver = new FixtureDriver();
  return {
    // The driver answers a command of type K with Replies[K] (driver.ts).
    request: <K extends Command['type']>(command: Extract<Command, { type: K }>) =>
      driver.handle(command) as Promise<Replies[K]>,
    dispose: async () => undefined,
  };
}

const startedAt = performance.now();
const log = (line: string) =>
  console.log(`· ${((performance.now() - startedAt) / 1000).toFixed(0).padStart(3)} s  ${line}`);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

interface LevelResult {
  readonly cells: ReadonlyMap<string, Cell>;
  readonly heap: readonly HeapFigure[];
  readonly lifecycle: readonly Lifecycle[];
  readonly problems: readonly string[];
}

async function measureLevel(live: number, entrants: readonly Entrant[], options: Options): Promise<LevelResult> {
  const problems: string[] = [];
  log(`${int(live)} live sessions: opening ${options.reps} replica(s) of every gate`);
  // One replica (a process of its own, in worker mode) per repetition, so each figure's median is
  // taken over separate processes: the JIT's choices differ from process to process.
  const replicas = new Map<Entrant, DriverHandle[]>(
    entrants.map((e) => [
      e,
      Array.from({ length: options.reps }, () => (options.inProcess ? inProcessHandle() : workerHandle(e.execArgv))),
    ]),
  );
  const opened = new Map<Entrant, Opened[]>(entrants.map((e) => [e, []]));
  const open = async (e: Entrant, together: boolean) => {
    const handles = replicas.get(e)!;
    const request = (handle: DriverHandle) => handle.request({ type: 'open', contender: e.contender, live });
    if (together) opened.set(e, await Promise.all(handles.map(request)));
    else for (const handle of handles) opened.get(e)!.push(await request(handle));
    log(`  ${e.name}: ${int(live)} open in ${int(median(opened.get(e)!.map((o) => o.fillMs)))} ms`);
  };
  // Bottleneck's opening waits on timers (a few ms per job, little CPU): its replicas open together,
  // in the background, while the others open one after the other, so their times stay undisturbed.
  const timerBound = (e: Entrant) => !options.inProcess && e.contender === 'bottleneck';
  const background = entrants.filter(timerBound).map((e) => open(e, true));
  for (const e of entrants) if (!timerBound(e)) await open(e, false);
  await Promise.all(background);

  const rows = entrants.flatMap((e) => e.rows.map((row) => ({ row, entrant: e })));
  const plans = new Map<string, { cycles: number; warmupCycles: number; runsMs: number[] }>();
  for (let rep = 0; rep < options.reps; rep++) {
    const shift = rep % rows.length;
    for (const { row, entrant: e } of [...rows.slice(shift), ...rows.slice(0, shift)]) {
      const handle = replicas.get(e)![rep]!;
      // Warm-up right before the timed run: JIT and GC are in their running state, not cold and not
      // reset by the idle time while the other rows ran. The first replica sizes the runs, after a
      // warm-up twice as long (a fresh process with no sessions open is slow for the first second).
      const warmupMs = plans.has(row.key) ? options.warmupMs : 2 * options.warmupMs;
      const c = await handle.request({ type: 'calibrate', row: row.fixtureRow, warmupMs, targetMs: options.targetMs });
      const plan = plans.get(row.key) ?? { cycles: c.cycles, warmupCycles: c.warmupCycles, runsMs: [] };
      plans.set(row.key, plan);
      const { ms } = await handle.request({
        type: 'run',
        row: row.fixtureRow,
        cycles: plan.cycles,
        collectFirst: options.gcEachRun,
      });
      plan.runsMs.push(ms);
    }
    log(`  run ${rep + 1}/${options.reps} done`);
  }

  const closed = new Map<Entrant, number[]>(entrants.map((e) => [e, []]));
  for (const [e, handles] of replicas) {
    for (const handle of handles) {
      const { problems: found } = await handle.request({ type: 'verify' });
      problems.push(...found.map((p) => `${e.name} at ${int(live)} live: ${p}`));
      closed.get(e)!.push((await handle.request({ type: 'close' })).closeMs);
      await handle.dispose();
    }
  }
  return {
    cells: new Map([...plans].map(([key, p]) => [key, p])),
    heap:
      live !== HEAP_LIVE
        ? []
        : entrants.map((e) => ({
            entrant: e.name,
            live,
            perLiveBytes: median(opened.get(e)!.map((o) => o.filledBytes / live)),
          })),
    lifecycle: entrants.map((e) => ({
      entrant: e.name,
      live,
      fillMs: median(opened.get(e)!.map((o) => o.fillMs)),
      closeMs: median(closed.get(e)!),
    })),
    problems,
  };
}

/** The repository root: the nearest folder upwards with agentvisor's package.json. */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      fs.existsSync(manifest) &&
      (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'agentvisor'
    )
      return dir;
    if (path.dirname(dir) === dir) throw new Error('cannot find the agentvisor package.json above the bench');
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.inProcess || options.gcEachRun) collectGarbage(); // fails early without --expose-gc
  const started = performance.now();
  const loadBefore = os.loadavg()[0] ?? Number.NaN;
  // Node flags cannot differ within one process: the diagnostic entrant needs its own worker.
  const entrants = ENTRANTS.filter((e) => !options.inProcess || e.execArgv.length === 0);
  const rows = entrants.flatMap((e) => e.rows);
  const cells = new Map<string, Map<number, Cell>>(rows.map((r) => [r.key, new Map<number, Cell>()]));
  const heap: HeapFigure[] = [];
  const lifecycle: Lifecycle[] = [];
  const problems: string[] = [];
  for (const live of options.liveCounts) {
    const level = await measureLevel(live, entrants, options);
    for (const [key, cell] of level.cells) cells.get(key)!.set(live, cell);
    heap.push(...level.heap);
    lifecycle.push(...level.lifecycle);
    problems.push(...level.problems);
  }

  const results: Results = {
    machine: machineInfo(repoRoot()),
    loadAverage: [loadBefore, os.loadavg()[0] ?? Number.NaN],
    liveCounts: options.liveCounts,
    reps: options.reps,
    targetMs: options.targetMs,
    method: [
      options.inProcess
        ? 'all contenders in one process'
        : 'each run in its own worker process (one per contender, live count and repetition)',
      `warm-up of ${options.warmupMs} ms right before each run (${2 * options.warmupMs} ms on the first replica, which sizes the runs)`,
      options.gcEachRun ? 'full GC before each run' : 'no forced GC between runs',
    ],
    rows,
    cells,
    heap,
    lifecycle,
    problems,
    durationS: (performance.now() - started) / 1000,
  };
  console.log(consoleReport(results));
  if (options.write) log(`written to ${path.relative(process.cwd(), writeDocs(repoRoot(), markdownReport(results)))}`);
  if (problems.length > 0) process.exitCode = 1;
  // Second part: authentication latency and refresh requests (bench/auth.ts), in a process of its own.
  const auth = fork(path.join(__dirname, 'auth.js'), options.write ? [] : ['--no-write'], { stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve) => auth.on('exit', resolve));
  if (code !== 0) process.exitCode = 1;
  // Third part: fallback latency (bench/fallback.ts), in a process of its own.
  const fallback = fork(path.join(__dirname, 'fallback.js'), options.write ? [] : ['--no-write'], { stdio: 'inherit' });
  const fallbackCode = await new Promise<number | null>((resolve) => fallback.on('exit', resolve));
  if (fallbackCode !== 0) process.exitCode = 1;
  // Fourth part: learned estimates against a fixed estimate (bench/learnedEstimates.ts), in a process of its own.
  const learned = fork(path.join(__dirname, 'learnedEstimates.js'), options.write ? [] : ['--no-write'], {
    stdio: 'inherit',
  });
  const learnedCode = await new Promise<number | null>((resolve) => learned.on('exit', resolve));
  if (learnedCode !== 0) process.exitCode = 1;
  // Fifth part: agentvisor around the real agent CLIs, its overhead and its stops (bench/agentRun.ts), in a process of its own.
  const agentRun = fork(path.join(__dirname, 'agentRun.js'), options.write ? [] : ['--no-write'], { stdio: 'inherit' });
  const agentRunCode = await new Promise<number | null>((resolve) => agentRun.on('exit', resolve));
  if (agentRunCode !== 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

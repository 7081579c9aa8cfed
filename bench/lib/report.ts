/** Turns the measurements into the console table and the generated section of docs/benchmarks.md. */
import fs from 'node:fs';
import path from 'node:path';
import type { MachineInfo } from './machine';
import { median } from './measure';
import type { RowInfo } from './types';

export interface Cell {
  /** Cycles in each measured run (the same for every repetition). */
  readonly cycles: number;
  readonly warmupCycles: number;
  /** Elapsed ms of each repetition, in run order. */
  readonly runsMs: readonly number[];
}

export interface HeapFigure {
  readonly entrant: string;
  readonly live: number;
  /** (heapUsed after opening `live` sessions − before) / live, after full collections. */
  readonly perLiveBytes: number;
}

export interface Lifecycle {
  readonly entrant: string;
  readonly live: number;
  readonly fillMs: number;
  readonly closeMs: number;
}

export interface Results {
  readonly machine: MachineInfo;
  /** 1-minute load average when the run started and when it ended. */
  readonly loadAverage: readonly [number, number];
  /** How the run was set up (process layout, GC policy). */
  readonly method: readonly string[];
  readonly liveCounts: readonly number[];
  readonly reps: number;
  readonly targetMs: number;
  readonly rows: readonly RowInfo[];
  readonly cells: ReadonlyMap<string, ReadonlyMap<number, Cell>>;
  readonly heap: readonly HeapFigure[];
  readonly lifecycle: readonly Lifecycle[];
  readonly problems: readonly string[];
  readonly durationS: number;
}

export const TARGETS = {
  /** agentvisor public-API cycles/s at 10,000 live ÷ at 0 live. */
  scaling: 0.5,
  /** agentvisor public-API cycles/s at 10,000 live. */
  absolute: 20_000,
  /** Heap bytes per live session at 10,000 live (4 KB = 4,096 bytes). */
  heapBytes: 4 * 1024,
} as const;

export const PRIMARY_ENTRANT = 'agentvisor';
export const PRIMARY_ROW = `${PRIMARY_ENTRANT}/agentvisor.public`;
export const HEAP_LIVE = 10_000;

const load = (r: Results) => `${r.loadAverage[0].toFixed(2)} at start, ${r.loadAverage[1].toFixed(2)} at end`;
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ratio = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');

function rates(cell: Cell): number[] {
  return cell.runsMs.map((ms) => (cell.cycles * 1000) / ms);
}

export function medianRate(results: Results, row: string, live: number): number {
  const cell = results.cells.get(row)?.get(live);
  return cell ? median(rates(cell)) : Number.NaN;
}

/** (max − min) / median of the repetitions, in percent. */
function spread(cell: Cell): number {
  const r = rates(cell);
  return ((Math.max(...r) - Math.min(...r)) / median(r)) * 100;
}

export interface TargetResult {
  readonly name: string;
  readonly measured: string;
  readonly target: string;
  /** PASS or MISS; n/a when the run did not measure it (e.g. --live without 10000). */
  readonly result: 'PASS' | 'MISS' | 'n/a';
}

const verdict = (measured: boolean, pass: boolean): TargetResult['result'] =>
  !measured ? 'n/a' : pass ? 'PASS' : 'MISS';

/** The targets are defined at 10,000 live sessions (HEAP_LIVE). */
export function evaluateTargets(results: Results): TargetResult[] {
  const zero = medianRate(results, PRIMARY_ROW, 0);
  const atTop = medianRate(results, PRIMARY_ROW, HEAP_LIVE);
  const heap = results.heap.find((h) => h.entrant === PRIMARY_ENTRANT && h.live === HEAP_LIVE);
  const scaling = atTop / zero;
  return [
    {
      name: `agentvisor cycles/s at ${int(HEAP_LIVE)} live ÷ at 0 live`,
      measured: ratio(scaling),
      target: `≥ ${TARGETS.scaling}`,
      result: verdict(Number.isFinite(scaling), scaling >= TARGETS.scaling),
    },
    {
      name: `agentvisor cycles/s at ${int(HEAP_LIVE)} live`,
      measured: Number.isFinite(atTop) ? `${int(atTop)}/s` : 'n/a',
      target: `≥ ${int(TARGETS.absolute)}/s`,
      result: verdict(Number.isFinite(atTop), atTop >= TARGETS.absolute),
    },
    {
      name: `heap per live session at ${int(HEAP_LIVE)} live`,
      measured: heap ? `${int(heap.perLiveBytes)} B` : 'n/a',
      target: `≤ ${int(TARGETS.heapBytes)} B (4 KB)`,
      result: verdict(heap !== undefined, heap !== undefined && heap.perLiveBytes <= TARGETS.heapBytes),
    },
  ];
}

function table(
  header: readonly string[],
  body: readonly (readonly string[])[],
  align: readonly ('l' | 'r')[],
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
}

function mdTable(
  header: readonly string[],
  body: readonly (readonly string[])[],
  align: readonly ('l' | 'r')[],
): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${align.map((a) => (a === 'r' ? '---:' : ':---')).join('|')}|`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function rateCell(results: Results, row: string, live: number, withSpread: boolean): string {
  const cell = results.cells.get(row)?.get(live);
  if (!cell) return 'n/a';
  const r = int(median(rates(cell)));
  return withSpread ? `${r} ±${Math.round(spread(cell) / 2)}%` : r;
}

interface Tables {
  readonly rates: { header: string[]; body: string[][]; align: ('l' | 'r')[] };
  readonly ratios: { header: string[]; body: string[][]; align: ('l' | 'r')[] };
  readonly targets: { header: string[]; body: string[][]; align: ('l' | 'r')[] };
  readonly heap: { header: string[]; body: string[][]; align: ('l' | 'r')[] };
  readonly lifecycle: { header: string[]; body: string[][]; align: ('l' | 'r')[] };
  readonly details: { header: string[]; body: string[][]; align: ('l' | 'r')[] };
}

function tables(results: Results): Tables {
  const lives = results.liveCounts;
  const top = Math.max(...lives);
  const liveHeader = lives.map((l) => `${int(l)} live`);
  const rateBody = results.rows.map((row) => [
    row.label,
    ...lives.map((l) => rateCell(results, row.key, l, true)),
    ratio(medianRate(results, row.key, top) / medianRate(results, row.key, 0)),
  ]);
  const ratioBody = results.rows
    .filter((row) => row.key !== PRIMARY_ROW)
    .map((row) => [
      row.label,
      ...lives.map((l) => ratio(medianRate(results, row.key, l) / medianRate(results, PRIMARY_ROW, l))),
    ]);
  const targets = evaluateTargets(results);
  const heapBody = results.heap.map((h) => [h.entrant, int(h.perLiveBytes), (h.perLiveBytes / 1024).toFixed(2)]);
  const lifecycleBody = results.lifecycle
    .filter((l) => l.live === top)
    .map((l) => [l.entrant, int(l.fillMs), int(l.closeMs)]);
  const detailsBody: string[][] = [];
  for (const row of results.rows) {
    for (const live of lives) {
      const cell = results.cells.get(row.key)?.get(live);
      if (!cell) continue;
      detailsBody.push([
        row.label,
        int(live),
        int(cell.warmupCycles),
        int(cell.cycles),
        rates(cell).map(int).join(' / '),
        int(Math.min(...cell.runsMs)),
      ]);
    }
  }
  return {
    rates: {
      header: ['cycles/s (median of runs)', ...liveHeader, `${int(top)} ÷ 0`],
      body: rateBody,
      align: ['l', ...lives.map(() => 'r' as const), 'r'],
    },
    ratios: {
      header: ['÷ agentvisor public API', ...liveHeader],
      body: ratioBody,
      align: ['l', ...lives.map(() => 'r' as const)],
    },
    targets: {
      header: ['target', 'measured', 'target', 'result'],
      body: targets.map((t) => [t.name, t.measured, t.target, t.result]),
      align: ['l', 'r', 'r', 'l'],
    },
    heap: {
      header: [
        `heap at ${int(HEAP_LIVE)} live (median of the replicas)`,
        'bytes per live session',
        'KB per live session',
      ],
      body: heapBody,
      align: ['l', 'r', 'r'],
    },
    lifecycle: {
      header: [`${int(top)} live sessions (median of the replicas)`, 'open them (ms)', 'close the gate with them (ms)'],
      body: lifecycleBody,
      align: ['l', 'r', 'r'],
    },
    details: {
      header: ['row', 'live', 'warm-up cycles', 'cycles/run', 'cycles/s of each run (run order)', 'shortest run (ms)'],
      body: detailsBody,
      align: ['l', 'r', 'r', 'r', 'r', 'r'],
    },
  };
}

export function consoleReport(results: Results): string {
  const t = tables(results);
  const m = results.machine;
  const out = [
    '',
    `agentvisor benchmarks: ${m.date}, commit ${m.commit}, node ${m.node}, ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, load ${load(results)}`,
    `${results.reps} runs per figure, ${results.method.join(', ')}, ${results.durationS.toFixed(0)} s`,
    '',
    ...table(t.rates.header, t.rates.body, t.rates.align),
    '',
    ...table(t.ratios.header, t.ratios.body, t.ratios.align),
    '',
    ...table(t.targets.header, t.targets.body, t.targets.align),
    '',
    ...table(t.heap.header, t.heap.body, t.heap.align),
    '',
    ...table(t.lifecycle.header, t.lifecycle.body, t.lifecycle.align),
    ...results.problems.map((p) => `PROBLEM: ${p}`),
    '',
  ];
  return out.join('\n');
}

export function markdownReport(results: Results): string {
  const t = tables(results);
  const m = results.machine;
  const short =
    results.cells.size > 0 &&
    [...results.cells.values()].some((byLive) => [...byLive.values()].some((c) => Math.min(...c.runsMs) < 500));
  return [
    `Measured ${m.date} by \`npm run bench\` (${results.durationS.toFixed(0)} s).`,
    '',
    `- Commit: ${m.commit}`,
    `- Node: \`${m.node}\``,
    `- CPU: ${m.cpu}, ${m.cores} cores`,
    `- Memory: ${m.memoryGiB} GiB`,
    `- OS: ${m.platform}`,
    `- 1-minute load average: ${load(results)} (other work on the machine shows here)`,
    `- ${results.reps} measured runs per figure (median shown; ± is half the spread between the fastest and slowest run), ` +
      `each run a fixed number of cycles sized for about ${results.targetMs} ms after a warm-up; ` +
      `contenders interleaved run by run; ${results.method.join(', ')}.`,
    '',
    '### Cycles per second',
    '',
    ...mdTable(t.rates.header, t.rates.body, t.rates.align),
    '',
    '### Ratios to agentvisor (public API) at the same live count',
    '',
    ...mdTable(t.ratios.header, t.ratios.body, t.ratios.align),
    '',
    '### Targets',
    '',
    ...mdTable(t.targets.header, t.targets.body, t.targets.align),
    '',
    '### Heap',
    '',
    ...mdTable(t.heap.header, t.heap.body, t.heap.align),
    '',
    '### Opening and closing the live sessions',
    '',
    ...mdTable(t.lifecycle.header, t.lifecycle.body, t.lifecycle.align),
    '',
    ...(results.problems.length > 0
      ? ['', '**Problems found by the bookkeeping checks:**', '', ...results.problems.map((p) => `- ${p}`)]
      : []),
    '',
    '<details><summary>Every run</summary>',
    '',
    ...mdTable(t.details.header, t.details.body, t.details.align),
    ...(short
      ? ['', 'Some runs were shorter than 500 ms (see "shortest run"): the machine was faster than during calibration.']
      : []),
    '',
    '</details>',
  ].join('\n');
}

export const RESULTS_START = '<!-- bench:results:start (generated by npm run bench; edits inside are overwritten) -->';
export const RESULTS_END = '<!-- bench:results:end -->';

/** Replaces the generated section of docs/benchmarks.md, keeping the hand-written text around it. */
export function writeDocs(root: string, markdown: string): string {
  const file = path.join(root, 'docs', 'benchmarks.md');
  const section = `${RESULTS_START}\n${markdown}\n${RESULTS_END}`;
  let text: string;
  if (fs.existsSync(file)) {
    const current = fs.readFileSync(file, 'utf8');
    const start = current.indexOf(RESULTS_START);
    const end = current.indexOf(RESULTS_END);
    text =
      start >= 0 && end > start
        ? current.slice(0, start) + section + current.slice(end + RESULTS_END.length)
        : `${current.trimEnd()}\n\n## Latest results\n\n${section}\n`;
  } else {
    text = `# Benchmarks\n\n## Latest results\n\n${section}\n`;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

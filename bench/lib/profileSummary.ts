/** Reads a V8 CPU profile and says where the time went: by package, by function, and per facade call. */
import type { Profiler, Runtime } from 'node:inspector';

export interface Share {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Self time grouped: GC, xstate, agentvisor machines/, agentvisor src/, other libraries, the rest. */
  readonly byCategory: readonly Share[];
  /** Functions with the most self time. */
  readonly topSelf: readonly Share[];
  /** Inclusive time of named functions (each counted once per sample even when recursive). */
  readonly inclusive: readonly Share[];
}

function category(frame: Runtime.CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)' || functionName === '(idle)' || functionName === '(root)') return 'V8 / idle';
  const lib = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (lib) return lib[1]!;
  if (url.includes('/machines/')) return 'agentvisor machines/';
  if (url.includes('/src/')) return 'agentvisor src/';
  if (url.includes('/bench/')) return 'bench loop';
  if (url.startsWith('node:') || url === '') return 'node internals';
  return 'other';
}

function label(frame: Runtime.CallFrame): string {
  const file = frame.url
    .replace(/^.*node_modules\//, '')
    .replace(/^.*\/\.bench-build\//, '')
    .replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'} ${file}${file ? `:${frame.lineNumber + 1}` : ''}`;
}

/**
 * @param inclusiveOf function names (e.g. `spawnAgent`) whose inclusive time to report, matched
 *   against frames from agentvisor's src/ and machines/.
 */
export function summarizeProfile(profile: Profiler.Profile, inclusiveOf: readonly string[], top = 15): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  // Samples taken while the profiler itself stops (node:inspector's post) are not the cycle's.
  const isProfiler = (id: number): boolean => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      if (nodes.get(cur)?.callFrame.url === 'node:inspector') return true;
    }
    return false;
  };
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let totalUs = 0;
  samples.forEach((id, i) => {
    if (isProfiler(id)) return;
    const dt = Math.max(0, deltas[i] ?? 0);
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    totalUs += dt;
  });
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    if (!node) continue;
    add(byCategory, category(node.callFrame), us);
    add(byFunction, label(node.callFrame), us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = nodes.get(cur)?.callFrame;
      if (!frame || !inclusiveOf.includes(frame.functionName)) continue;
      if (!/\/(src|machines)\//.test(frame.url)) continue;
      const key = label(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      add(inclusive, key, us);
    }
  }
  const shares = (map: Map<string, number>) =>
    [...map]
      .map(([name, us]) => ({ name, ms: us / 1000, percent: (100 * us) / Math.max(1, totalUs) }))
      .sort((a, b) => b.ms - a.ms);
  return {
    totalMs: totalUs / 1000,
    byCategory: shares(byCategory),
    topSelf: shares(byFunction).slice(0, top),
    inclusive: shares(inclusive),
  };
}

export function formatSummary(summary: ProfileSummary, cycles: number): string {
  const line = (s: Share) =>
    `${s.percent.toFixed(1).padStart(5)}%  ${((s.ms * 1000) / cycles).toFixed(2).padStart(7)} µs/cycle  ${s.name}`;
  return [
    `self time by package (${summary.totalMs.toFixed(0)} ms sampled, ${cycles.toLocaleString('en-US')} cycles):`,
    ...summary.byCategory.map(line),
    '',
    'functions with the most self time:',
    ...summary.topSelf.map(line),
    '',
    'inclusive time of facade and machine entry points:',
    ...summary.inclusive.map(line),
  ].join('\n');
}

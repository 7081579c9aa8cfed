/**
 * Where agentvisor's cycle spends its time. Not part of `npm run bench` (profiling slows the code
 * it watches); run it on the compiled bench:
 *
 *   npx tsc -p tsconfig.bench.json
 *   node .bench-build/bench/profile.js [--live 10000] [--row public|actor] [--seconds 4]
 *
 * It opens the same fixture as the benchmark, warms up, then samples only the measured cycles with
 * the V8 CPU profiler (100 µs interval, through node:inspector, like `node --cpu-prof` but without
 * the start-up and the filling of live sessions), and prints the time by package, the hottest
 * functions and the inclusive time of the facade calls. It also counts the XState work of one cycle
 * (actors created, events, snapshots) with an inspection observer, and the GC pauses of the run.
 * The raw profile is written to .bench-build/prof/ (open it in Chrome DevTools → Performance).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { InspectionEvent } from 'xstate';
import { createOrchestrator } from '../src';
import { openAgentvisor } from './contenders/agentvisor';
import { formatSummary, summarizeProfile } from './lib/profileSummary';
import { CYCLE } from './lib/types';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

/** A readable name for an actor in an inspection event: its systemId, or `session`. */
function actorName(ref: unknown): string {
  // Every actor here is a full Actor; ActorRefLike (the declared type) has neither field.
  const { systemId } = ref as { systemId?: string };
  if (systemId === 'coordinator' || systemId === 'credentials' || systemId === 'sessions') return systemId;
  return 'session';
}

/** Counts what XState does in one public-API cycle, from its inspection events. */
async function xstateWorkPerCycle(): Promise<string> {
  let counting = false;
  const counts = new Map<string, number>();
  const orch = createOrchestrator({
    apiKeys: { claude: 'sk-ant-api03-bench-not-a-real-key-0000' },
    env: {},
    limits: { claude: { dailyLimit: CYCLE.dailyLimit, maxConcurrent: CYCLE.headroom } },
    inspect: (event: InspectionEvent) => {
      if (!counting) return;
      const key =
        event.type === '@xstate.event'
          ? `event ${event.event.type.replace(/actor\..*$/, 'actor.<session>')} → ${actorName(event.actorRef)}`
          : event.type;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
  });
  await orch.start();
  counting = true;
  const agent = await orch.spawnAgent({ estimatedTokens: CYCLE.estimatedTokens });
  agent.reportUsage(CYCLE.usage);
  await agent.release();
  counting = false;
  await orch.stop();
  const events = [...counts].filter(([k]) => k.startsWith('event '));
  return [
    `XState work in one public-API cycle: ${counts.get('@xstate.actor') ?? 0} actor created, ` +
      `${events.reduce((s, [, n]) => s + n, 0)} events, ${counts.get('@xstate.snapshot') ?? 0} snapshots, ` +
      `${counts.get('@xstate.microstep') ?? 0} microsteps, ${counts.get('@xstate.action') ?? 0} actions`,
    ...events.map(([k, n]) => `  ${n} × ${k.slice('event '.length)}`),
  ].join('\n');
}

async function main(): Promise<void> {
  const live = Number(option('--live', '10000'));
  const rowName = option('--row', 'public');
  const seconds = Number(option('--seconds', '4'));
  const fixture = await openAgentvisor(live);
  await fixture.fill(live);
  const row = fixture.rows.find((r) => r.key === `agentvisor.${rowName}`);
  if (!row) throw new Error(`--row must be public or actor, got ${rowName}`);

  const runFor = async (ms: number): Promise<number> => {
    let cycles = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      await row.run(1_000);
      cycles += 1_000;
    }
    return cycles;
  };
  await runFor(1_500);

  let minorMs = 0;
  let majorMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // GC entries carry { kind } in `detail`; @types/node 20 does not declare it on PerformanceEntry.
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minorMs += entry.duration;
      else majorMs += entry.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  const t0 = performance.now();
  const cycles = await runFor(seconds * 1_000);
  const elapsed = performance.now() - t0;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  await new Promise((resolve) => setTimeout(resolve, 50)); // let the GC observer deliver
  gcObserver.disconnect();
  await fixture.close();

  const dir = path.join(__dirname, '..', 'prof');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `agentvisor-${rowName}-${live}.cpuprofile`);
  fs.writeFileSync(file, JSON.stringify(profile));

  const perCycle = (ms: number) => `${((ms * 1000) / cycles).toFixed(1)} µs/cycle`;
  console.log(
    `agentvisor ${rowName} cycle at ${live.toLocaleString('en-US')} live: ` +
      `${Math.round((cycles * 1000) / elapsed).toLocaleString('en-US')} cycles/s while profiled (${perCycle(elapsed)})`,
  );
  console.log(`GC pauses: scavenges ${perCycle(minorMs)}, mark-compact ${perCycle(majorMs)}`);
  console.log('');
  console.log(
    formatSummary(
      summarizeProfile(profile, ['spawnAgent', 'reportUsage', 'release', '#onCoordinatorEvent', 'transition']),
      cycles,
    ),
  );
  console.log('');
  console.log(await xstateWorkPerCycle());
  console.log(`\nprofile written to ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * The orchestrator side of the coordinator's graph model tests (test/helpers/coordinatorGraph.ts):
 * the real orchestrator (manual clock, keys in its env), stepped through its public API, on a shared
 * setup over a real file ledger in a temp folder with a second writer on the same file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROVIDER_IDS } from '../../machines/providers';
import { createManualClock, createOrchestrator } from '../../src';
import type { ManagedAgent, ManualClock, Orchestrator, ProviderId } from '../../src';
import { createEnvAuthenticator } from '../../src/credentials';
import { createFileLedger } from '../../src/quota/fileLedger';
import type { QuotaLedger } from '../../src/quota/ledger';
import {
  FAILURES,
  LEASE_MS,
  LIMITS,
  MAX_REQUEUES,
  OVERUSE,
  PAUSE_MS,
  PLAIN,
  TICK_MS,
  USAGE,
  WAITING,
  timingOf,
} from './coordinatorGraph';
import type { GraphSetup, GraphStep, GraphView, ProviderView } from './coordinatorGraph';
import { DEFAULT_CONFIG } from './machineHarness';
import { flush, keyEnv, track } from './orchestratorDriver';
import { OTHER_TOKENS, watchLedger } from './sharedLedgerModel';
import type { WatchedLedger } from './sharedLedgerModel';
import { T0 } from './timeOrigin';

/** The headers of an answer saying claude has no tokens left until `resetAt`. */
function exhaustedHeaders(resetAt: number): Record<string, string> {
  const at = new Date(resetAt).toISOString();
  return {
    'anthropic-ratelimit-tokens-remaining': '0',
    'anthropic-ratelimit-tokens-reset': at,
    'anthropic-ratelimit-requests-remaining': '0',
    'anthropic-ratelimit-requests-reset': at,
  };
}

/** The shared file ledger of one orchestrator side: its own (watched) handle and a second writer's. */
interface SharedFile {
  readonly dir: string;
  readonly own: WatchedLedger;
  readonly other: QuotaLedger;
  /** The second writer's live reservations per provider, oldest first. */
  readonly held: Record<ProviderId, string[]>;
}

function openShared(clock: ManualClock): SharedFile {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coordinator-ledger-model-'));
  const file = path.join(dir, 'ledger.json');
  const now = () => clock.now();
  return {
    dir,
    own: watchLedger(createFileLedger({ file, limits: LIMITS, now })),
    other: createFileLedger({ file, limits: LIMITS, now }),
    held: { claude: [], openai: [] },
  };
}

/** The real orchestrator, stepped through its public API. */
export class OrchestratorSide {
  private readonly agents: { id: string; agent: ManagedAgent | null; spawn: ReturnType<typeof track<ManagedAgent>> }[] =
    [];
  private stopped = false;
  private seq = 0;
  private grabs = 0;
  private readonly fallbacks = new Map<string, number>();
  private constructor(
    readonly orch: Orchestrator,
    private readonly clock: ManualClock,
    private readonly shared: SharedFile | null,
  ) {
    orch.on('agent.fallback', (e) => {
      if (e.to !== null) this.fallbacks.set(e.agentId, (this.fallbacks.get(e.agentId) ?? 0) + 1);
    });
  }

  static async start(setup: GraphSetup = PLAIN): Promise<OrchestratorSide> {
    const env = keyEnv();
    const clock = createManualClock(T0);
    const shared = setup.shared ? openShared(clock) : null;
    const side = new OrchestratorSide(
      createOrchestrator({
        env,
        authenticate: createEnvAuthenticator({ env }),
        limits: LIMITS,
        ...timingOf(setup),
        maxFallbacks: DEFAULT_CONFIG.maxFallbacks,
        maxQueue: DEFAULT_CONFIG.maxQueue,
        leaseMs: LEASE_MS,
        sweepIntervalMs: LEASE_MS,
        requeueThrottled: { maxRequeues: MAX_REQUEUES },
        ...(setup.failurePolicy === undefined ? {} : { failurePolicy: setup.failurePolicy }),
        ...(shared === null ? {} : { ledger: { instance: shared.own, leaseMs: LEASE_MS, syncIntervalMs: TICK_MS } }),
        clock,
      }),
      clock,
      shared,
    );
    await side.orch.start();
    return side;
  }

  private live(): ManagedAgent[] {
    return this.agents.flatMap((a) => (a.agent !== null && a.agent.isLive ? [a.agent] : []));
  }

  /** An active agent holds its provider's secrets in its env; one falling back or requeued holds none. */
  private oldestActive(): ManagedAgent | undefined {
    return this.live().find((a) => Object.keys(a.env).length > 0);
  }

  async apply(step: GraphStep): Promise<void> {
    this.adoptAdmitted();
    const oldest = this.oldestActive();
    switch (step.type) {
      case 'spawn': {
        this.seq += 1;
        const id = `a-${this.seq}`;
        const spawn = track(
          this.orch.spawnAgent({ agentId: id, estimatedTokens: step.estimatedTokens, waitMs: step.waitMs }),
        );
        this.agents.push({ id, agent: null, spawn });
        break;
      }
      case 'fail':
        track(oldest!.reportFailure(FAILURES[step.kind].report));
        break;
      case 'pause':
        oldest!.reportUsage({
          inputTokens: USAGE,
          outputTokens: 0,
          headers: exhaustedHeaders(this.clock.now() + PAUSE_MS),
        });
        break;
      case 'overuse':
        oldest!.reportUsage({ inputTokens: OVERUSE, outputTokens: 0 });
        break;
      case 'release':
        await this.live()[0]!.release();
        break;
      case 'tick':
        // What falls due within the tick first; then, alone on its last instant, the link's sync (shared ledger).
        this.clock.advance(TICK_MS - 1);
        await this.settle();
        this.clock.advance(1);
        break;
      case 'stop':
        this.stopped = true;
        await this.orch.stop();
        break;
      case 'grab': {
        this.grabs += 1;
        const id = `other-${this.grabs}`;
        const outcome = await this.shared!.other.reserve({
          provider: step.provider,
          sessionId: id,
          tokens: OTHER_TOKENS,
          leaseMs: LEASE_MS,
        });
        if (outcome.status === 'reserved') this.shared!.held[step.provider].push(id);
        break;
      }
      case 'letGo':
        await this.shared!.other.settle(this.shared!.held[step.provider].shift()!, 0, step.provider);
        break;
    }
    await this.settle();
    this.adoptAdmitted();
  }

  /** Waits until the orchestrator has nothing left to do: no promise callback and no ledger operation pending. */
  private async settle(): Promise<void> {
    for (;;) {
      await flush();
      const own = this.shared?.own;
      if (own === undefined || own.inFlight === 0) return;
      await own.idle();
    }
  }

  /** An agent exists once admitted (queued spawns have none yet). */
  private adoptAdmitted(): void {
    for (const a of this.agents) {
      if (a.agent !== null) continue;
      try {
        a.agent = this.orch.getAgent(a.id);
      } catch {
        // Still queued, or refused: its spawn promise says which.
      }
    }
  }

  async view(): Promise<GraphView> {
    const stats = this.orch.stats();
    const now = this.clock.now();
    const providers = Object.fromEntries(
      PROVIDER_IDS.map((p) => {
        const s = stats.providers[p];
        return [
          p,
          {
            active: s.active,
            used: s.used,
            reserved: s.reserved,
            circuit: s.circuit.state,
            paused: s.pausedUntil !== null && s.pausedUntil > now,
          },
        ];
      }),
    ) as Record<ProviderId, ProviderView>;
    const agents = this.live().map(
      (a) => `${a.provider}/${this.fallbacks.get(a.id) ?? 0}${Object.keys(a.env).length > 0 ? '' : WAITING}`,
    );
    const view = { stopped: this.stopped, queued: stats.queued, providers, agents };
    if (this.shared === null) return view;
    const { providers: held } = await this.shared.other.snapshot();
    return { ...view, ledger: { claude: held.claude.active, openai: held.openai.active } };
  }

  /** Stops the orchestrator and removes the ledger's folder. */
  async stop(): Promise<void> {
    if (!this.stopped) await this.orch.stop();
    if (this.shared === null) return;
    await this.shared.own.close();
    await this.shared.other.close();
    fs.rmSync(this.shared.dir, { recursive: true, force: true });
  }
}

import type { Logger } from 'pino';
import type { ProviderId } from '../../machines/providers';
import { isAgentvisorError } from '../errors';
import { createOrchestrator } from '../orchestrator';
import type { ManagedAgent, OrchestratorStats, ProviderLimits } from '../orchestrator';
import { PROVIDERS } from '../providers';
import { SimulatedProvider, randomInt, seededRandom } from '../sandbox';

export interface DemoOptions {
  /** @default 24 */
  readonly agents: number;
  /** @default 1 */
  readonly seed: number;
  readonly home?: string;
  readonly limits?: Partial<Record<ProviderId, ProviderLimits>>;
  readonly logger?: Logger;
  /** Called with one line per lifecycle event (queued, active, fallback, released). */
  readonly onProgress?: (line: string) => void;
}

export interface DemoAgentResult {
  readonly agentId: string;
  readonly status: 'completed' | 'refused' | 'ended';
  readonly code: string | null;
  readonly providers: readonly ProviderId[];
  readonly estimatedTokens: number;
  readonly usedTokens: number;
  readonly returnedTokens: number;
  readonly fallbacks: number;
  readonly waitedMs: number;
  readonly turns: number;
}

export interface DemoSummary {
  readonly ok: boolean;
  readonly agents: number;
  readonly completed: number;
  readonly refused: number;
  readonly ended: number;
  readonly fallbacks: number;
  readonly queued: number;
  readonly maxActive: Readonly<Record<ProviderId, number>>;
  readonly usedTokens: number;
  readonly requests: number;
  readonly elapsedMs: number;
  readonly stats: OrchestratorStats;
  readonly results: readonly DemoAgentResult[];
}

/** Keys the sandbox provider accepts. They are not real keys and are never printed. */
const DEMO_KEYS: Record<ProviderId, string> = {
  claude: 'sk-ant-api03-agentvisor-demo-key-not-real-0000',
  openai: 'sk-proj-agentvisor-demo-key-not-real-0000',
};

/**
 * The demo: N API-style agents run turns against the in-process sandbox provider through the real
 * orchestrator, on the default limits unless told otherwise. It shows admission, waiting in the
 * queue, fallback on provider failures, and settlement.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const random = seededRandom(options.seed);
  const provider = new SimulatedProvider({ keys: DEMO_KEYS, seed: options.seed, latencyMs: [40, 160] });
  const orch = createOrchestrator({
    env: {},
    apiKeys: DEMO_KEYS,
    // The demo never reads the user's real credential files.
    credentialSources: ['options'],
    ...(options.home ? { home: options.home } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const progress = options.onProgress ?? (() => undefined);
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(2).padStart(6)}s`;
  let queued = 0;
  let fallbacks = 0;
  const maxActive: Record<ProviderId, number> = { claude: 0, openai: 0 };
  orch.on('agent.queued', (e) => {
    queued += 1;
    progress(`${at()}  ${e.agentId}  waits in the queue (${e.code}, position ${e.position + 1})`);
  });
  orch.on('agent.active', (e) => {
    const s = orch.stats().providers[e.provider];
    maxActive[e.provider] = Math.max(maxActive[e.provider], s.active);
    progress(`${at()}  ${e.agentId}  active on ${e.provider}, allocated ${e.allocatedTokens.toLocaleString('en-US')} tokens (${s.active}/${s.maxConcurrent} running)`);
  });
  orch.on('agent.fallback', (e) => {
    fallbacks += 1;
    progress(`${at()}  ${e.agentId}  ${e.from} failed (${e.reason}): ${e.to ? `falls back to ${e.to} in ${e.latencyMs} ms` : 'no provider left'}`);
  });
  orch.on('agent.released', (e) => {
    progress(`${at()}  ${e.agentId}  released (${e.reason}): used ${e.usedTokens.toLocaleString('en-US')}, returned ${e.returnedTokens.toLocaleString('en-US')}`);
  });

  await orch.start();
  const runAgent = async (index: number): Promise<DemoAgentResult> => {
    const agentId = `agent-${String(index + 1).padStart(2, '0')}`;
    const estimatedTokens = randomInt(random, 8, 40) * 1000;
    const turns = randomInt(random, 2, 6);
    const askedAt = Date.now();
    let agent: ManagedAgent;
    try {
      agent = await orch.spawnAgent({ agentId, estimatedTokens, waitMs: 120_000, task: `demo task ${index + 1}` });
    } catch (error) {
      const code = isAgentvisorError(error) ? error.code : 'error';
      progress(`${at()}  ${agentId}  refused (${code})`);
      return { agentId, status: 'refused', code, providers: [], estimatedTokens, usedTokens: 0, returnedTokens: 0, fallbacks: 0, waitedMs: Date.now() - askedAt, turns: 0 };
    }
    const waitedMs = Date.now() - askedAt;
    const providers: ProviderId[] = [agent.provider];
    let done = 0;
    let code: string | null = null;
    while (done < turns && agent.isLive) {
      const current = agent.provider;
      const env = agent.env;
      const keyName = PROVIDERS[current].agentKeyEnv[0]!;
      const answer = await provider.complete({ provider: current, apiKey: env[keyName], maxTokens: Math.ceil(agent.allocatedTokens / turns) });
      if (!agent.isLive) break;
      try {
        if (answer.ok) {
          agent.reportUsage(answer.usage);
          done += 1;
        } else {
          await agent.reportFailure({ status: answer.status, message: answer.message });
          if (!providers.includes(agent.provider)) providers.push(agent.provider);
        }
      } catch (error) {
        code = isAgentvisorError(error) ? error.code : 'error';
        break;
      }
    }
    // An agent the system already ended (no provider left, budget gone) still reports its settlement here.
    const result = await agent.release();
    return {
      agentId,
      status: code === null && result.reason === 'released' ? 'completed' : 'ended',
      code: code ?? (result.reason === 'released' ? null : result.reason),
      providers,
      estimatedTokens,
      usedTokens: result.usedTokens,
      returnedTokens: result.returnedTokens,
      fallbacks: result.fallbacks.length,
      waitedMs,
      turns: done,
    };
  };

  const results = await Promise.all(Array.from({ length: options.agents }, (_, i) => runAgent(i)));
  const stats = orch.stats();
  await orch.stop();
  const count = (status: DemoAgentResult['status']) => results.filter((r) => r.status === status).length;
  const usedTokens = results.reduce((sum, r) => sum + r.usedTokens, 0);
  const settled = stats.providers.claude.reserved === 0 && stats.providers.openai.reserved === 0 && stats.providers.claude.active === 0 && stats.providers.openai.active === 0;
  const accounted = stats.providers.claude.used + stats.providers.openai.used === usedTokens;
  return {
    ok: settled && accounted && count('completed') + count('ended') + count('refused') === options.agents,
    agents: options.agents,
    completed: count('completed'),
    refused: count('refused'),
    ended: count('ended'),
    fallbacks,
    queued,
    maxActive,
    usedTokens,
    requests: provider.requests,
    elapsedMs: Date.now() - started,
    stats,
    results,
  };
}

/**
 * agentvisor, driven two ways on the same orchestrator:
 * - public: createOrchestrator → spawnAgent → agent.reportUsage → agent.release (what a host calls);
 * - actor: the coordinator actor directly (agent.spawn, then session.usage / session.release sent
 *   to the session found by its systemId), to show what the facade adds on top of the machines.
 */
import type { ActorRefFrom } from 'xstate';
import type { AgentSessionMachine } from '../../machines/agentSession.machine';
import { createOrchestrator } from '../../src';
import type { ManagedAgent, Orchestrator } from '../../src';
import { CYCLE } from '../lib/types';
import type { Contender, Fixture } from '../lib/types';

type SessionRef = ActorRefFrom<AgentSessionMachine>;

/** Fake keys in the providers' formats: the env authenticator only checks that one is present. */
const FAKE_KEYS = {
  claude: 'sk-ant-api03-bench-not-a-real-key-0000',
  openai: 'sk-proj-bench-not-a-real-key-0000',
} as const;

export function createAgentvisorOrchestrator(live: number): Orchestrator {
  return createOrchestrator({
    apiKeys: FAKE_KEYS,
    env: {},
    // The cycle is measured on Claude: with two API keys the default policy would start sessions on OpenAI.
    providerPriority: 'prefer-claude',
    limits: { claude: { dailyLimit: CYCLE.dailyLimit, maxConcurrent: live + CYCLE.headroom } },
  });
}

export interface AgentvisorFixture extends Fixture {
  readonly orchestrator: Orchestrator;
}

export async function openAgentvisor(live: number): Promise<AgentvisorFixture> {
  const orch = createAgentvisorOrchestrator(live);
  await orch.start();
  const held: ManagedAgent[] = [];
  let seq = 0;

  const publicRow = {
    key: 'agentvisor.public',
    async run(cycles: number): Promise<void> {
      for (let i = 0; i < cycles; i++) {
        const agent = await orch.spawnAgent({ estimatedTokens: CYCLE.estimatedTokens });
        agent.reportUsage(CYCLE.usage);
        await agent.release();
      }
    },
  };

  const actorRow = {
    key: 'agentvisor.actor',
    run(cycles: number): void {
      const actor = orch.actor;
      for (let i = 0; i < cycles; i++) {
        const id = `bench-${seq++}`;
        actor.send({
          type: 'agent.spawn',
          requestId: id,
          sessionId: id,
          agentId: id,
          estimatedTokens: CYCLE.estimatedTokens,
          preferredProvider: null,
          onlyPreferred: false,
          waitMs: 0,
          priority: 0,
          now: Date.now(),
        });
        // Sessions register under their session id; the ref is untyped in the system registry.
        const session = actor.system.get(id) as SessionRef | undefined;
        if (!session) throw new Error(`agentvisor did not admit bench session ${id}`);
        session.send({ type: 'session.usage', tokens: CYCLE.usedTokens, now: Date.now() });
        session.send({ type: 'session.release', now: Date.now() });
      }
    },
  };

  return {
    orchestrator: orch,
    rows: [publicRow, actorRow],
    async fill(count: number): Promise<void> {
      for (let i = 0; i < count; i++) held.push(await orch.spawnAgent({ estimatedTokens: CYCLE.estimatedTokens }));
    },
    async verify(count: number, cyclesRun: number): Promise<string[]> {
      const claude = orch.stats().providers.claude;
      const problems: string[] = [];
      if (claude.active !== count) problems.push(`active ${claude.active}, expected ${count}`);
      if (claude.reserved !== count * CYCLE.estimatedTokens)
        problems.push(`reserved ${claude.reserved}, expected ${count * CYCLE.estimatedTokens}`);
      if (claude.used !== cyclesRun * CYCLE.usedTokens)
        problems.push(`used ${claude.used}, expected ${cyclesRun * CYCLE.usedTokens}`);
      if (orch.agents().length !== count) problems.push(`${orch.agents().length} live agents, expected ${count}`);
      if (held.some((a) => !a.isLive)) problems.push('a held session was released during the run');
      return problems;
    },
    async close(): Promise<number> {
      const t0 = performance.now();
      await orch.stop();
      const ms = performance.now() - t0;
      held.length = 0;
      return ms;
    },
  };
}

export const agentvisorContender: Contender = {
  name: 'agentvisor',
  rows: [
    {
      key: 'agentvisor.public',
      label: 'agentvisor, public API',
      description:
        'await orch.spawnAgent({ estimatedTokens }) → agent.reportUsage({ inputTokens, outputTokens }) → await agent.release()',
    },
    {
      key: 'agentvisor.actor',
      label: 'agentvisor, actor level',
      description:
        "orch.actor.send('agent.spawn') → system.get(sessionId).send('session.usage') → send('session.release'); no facade, no nanoid, no promises",
    },
  ],
  create: openAgentvisor,
};

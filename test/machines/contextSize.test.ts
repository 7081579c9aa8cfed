/**
 * XState copies context with Object.assign on every assign; past 16 properties V8 turns the object
 * into dictionary mode, which made the admission cycle about a quarter slower at 10,000 live
 * sessions and added about 240 B per session (measured in bench/, docs/benchmarks.md). Keep both
 * machines' contexts at 16 top-level keys at most.
 */
import { createActor } from 'xstate';
import { agentSessionMachine } from '../../machines/agentSession.machine';
import { createCoordinatorHarness } from '../helpers/machineHarness';

describe('context size', () => {
  it('should keep the session context at 16 top-level keys at most', () => {
    const actor = createActor(agentSessionMachine, {
      input: {
        sessionId: 's',
        agentId: 'a',
        provider: 'claude',
        fallbackProviders: ['openai'],
        maxFallbacks: 1,
        estimatedTokens: 10,
        allocatedTokens: 10,
        leaseMs: 1_000,
        now: 0,
      },
    });
    expect(Object.keys(actor.getSnapshot().context).length).toBeLessThanOrEqual(16);
  });

  it('should keep the coordinator context at 16 top-level keys at most', () => {
    const h = createCoordinatorHarness({ limits: { claude: { dailyLimit: 100, maxConcurrent: 1 } } });
    expect(Object.keys(h.context()).length).toBeLessThanOrEqual(16);
    h.stop();
  });
});

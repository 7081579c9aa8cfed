/**
 * machines/coordinator.machine.ts against the mutation run (docs/testing.md "Mutation testing"): the
 * context the coordinator starts with. The coordinator group's tests never configured adaptive
 * concurrency, the one thing that reads each provider's starting health by its name, and never
 * looked the session supervisor up by its systemId.
 */
import { HOUR, createCoordinatorHarness } from '../helpers/machineHarness';

describe('coordinator machine (mutation edges)', () => {
  it("should start each provider's adaptive limit at its own configured value, and admit only that many at first", () => {
    const h = createCoordinatorHarness({
      limits: { claude: { dailyLimit: 100_000, maxConcurrent: 5 }, openai: { dailyLimit: 100_000, maxConcurrent: 5 } },
      config: { adaptive: { initial: { claude: 2, openai: 3 }, growAfter: 10, decreaseIntervalMs: HOUR } },
    });
    expect(h.context().health.claude.limit).toBe(2);
    expect(h.context().health.openai.limit).toBe(3);
    for (let i = 0; i < 6; i += 1) h.spawn({ estimatedTokens: 100 });
    expect(h.emittedOf('agent.admitted').map((e) => e.provider)).toEqual([
      'claude',
      'claude',
      'openai',
      'openai',
      'openai',
    ]);
    expect(h.emittedOf('agent.refused')).toMatchObject([{ code: 'concurrency-limit' }]);
    h.stop();
  });

  it('should register its session supervisor in the system as `sessions`, where other actors can address it', () => {
    const h = createCoordinatorHarness({ limits: { claude: { dailyLimit: 1_000, maxConcurrent: 1 } } });
    expect(h.actor.system.get('sessions')).toBe(h.context().supervisor);
    h.stop();
  });
});

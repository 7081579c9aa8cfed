/**
 * The edge of machines/nextDueAt.ts that the mutation run (docs/testing.md "Mutation testing") found
 * untested: an open circuit's end of cooldown is a due time of its own, a closed circuit's old one is not.
 */
import { nextDueAt } from '../../machines/nextDueAt';
import type { TimedContext } from '../../machines/nextDueAt';
import { HEALTHY } from '../../machines/providerHealth';
import { HOUR, T0 } from '../helpers/machineHarness';

function contextWith(claude: Partial<typeof HEALTHY>): TimedContext {
  return {
    config: {},
    queue: [],
    health: { claude: { ...HEALTHY, ...claude }, openai: HEALTHY },
    nextResetAt: T0 + HOUR,
    sweptAt: T0,
  };
}

describe('nextDueAt (mutation edges)', () => {
  it('should be due when an open circuit cools down, before the daily reset', () => {
    expect(nextDueAt(contextWith({ state: 'open', openUntil: T0 + 5_000 }))).toBe(T0 + 5_000);
  });

  it('should not read the cooldown of a circuit that is not open', () => {
    expect(nextDueAt(contextWith({ state: 'closed', openUntil: T0 + 5_000 }))).toBe(T0 + HOUR);
  });
});

import { AgentvisorError } from '../errors';
import { checkDailyReset } from './dailyWindow';
import { lazySchema } from '../schema/lazySchema';

function isKnownTimeZone(timeZone: string): boolean {
  try {
    checkDailyReset({ at: '00:00', timeZone });
    return true;
  } catch (error) {
    if (error instanceof AgentvisorError) return false;
    throw error;
  }
}

/**
 * `dailyReset` of `createOrchestrator` and of the ledgers: when the daily window starts.
 *
 * @example dailyResetSchema().parse({ at: '06:00', timeZone: 'Europe/Berlin' })
 */
export const dailyResetSchema = lazySchema((z) =>
  z.strictObject({
    at: z
      .string({ error: 'expected HH:MM (24-hour)' })
      .regex(/^([01]\d|2[0-3]):([0-5]\d)$/, { error: 'expected HH:MM (24-hour)' }),
    timeZone: z.string({ error: 'expected an IANA time zone such as UTC or Europe/Berlin' }).refine(isKnownTimeZone, {
      error: 'expected a time zone this Node.js knows (an IANA name such as UTC or Europe/Berlin)',
    }),
  }),
);

/**
 * The options of `spawnAgent`: a strict object, so a misspelt option is refused with a "did you
 * mean" hint. Built on first use (lazySchema). That an estimate or a task kind is given is checked
 * after it (checkSpawn), with the message that says which to give.
 */
import { lazySchema } from '../schema/lazySchema';
import { MAX_TIMER_MS, providerIdSchema, wholeNumber } from '../schema/schemaParts';
import { KIND_PATTERN } from './learnedEstimates';
import { MAX_TOKENS } from './options';
import type { SpawnOptions } from './types';

/** Letters, digits and `_ . : @ / -`, 1 to 128 of them. */
export const AGENT_ID_PATTERN = /^[\w.:@/-]{1,128}$/;

/**
 * Every option of `spawnAgent` (docs/api.md has the table).
 *
 * @example spawnOptionsSchema().safeParse({ estimatedTokens: 20_000, preferredProvider: 'openai' }).success // true
 */
export const spawnOptionsSchema = lazySchema((z) =>
  z.strictObject({
    estimatedTokens: wholeNumber(1, MAX_TOKENS).optional(),
    taskKind: z
      .string({
        error:
          "expected 1-64 characters of letters, digits and _ . : / - (a class of work such as 'lint' or 'fix-test')",
      })
      .regex(KIND_PATTERN, {
        error:
          "expected 1-64 characters of letters, digits and _ . : / - (a class of work such as 'lint' or 'fix-test')",
      })
      .optional(),
    preferredProvider: providerIdSchema().optional(),
    agentId: z
      .string({ error: 'expected 1-128 characters of letters, digits and _ . : @ / -' })
      .regex(AGENT_ID_PATTERN, { error: 'expected 1-128 characters of letters, digits and _ . : @ / -' })
      .optional(),
    task: z.string({ error: 'expected a string' }).optional(),
    waitMs: wholeNumber(0, MAX_TIMER_MS).optional(),
    priority: z.int({ error: 'expected a whole number' }).optional(),
    whenPreferredBusy: z.enum(['fallback', 'wait'], { error: "expected 'fallback' or 'wait'" }).optional(),
  } satisfies Record<keyof SpawnOptions, unknown>),
);

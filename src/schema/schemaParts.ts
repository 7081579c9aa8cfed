/**
 * Pieces the option schemas share. Each builds a schema when called, so only a schema built on
 * first use (lazySchema) may call them: importing this module does not load zod.
 */
import type { z } from 'zod';
import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { loadZod } from './lazySchema';

/** Timers take at most 2^31 - 1 ms (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A whole number within bounds, with the message every failed check gives.
 *
 * @example wholeNumber(0, 100).parse(42)
 */
export function wholeNumber(min: number, max: number) {
  const expected = `expected a whole number from ${min} to ${max}`;
  return loadZod().int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
}

/**
 * Whether no item appears twice.
 *
 * @example distinct(['claude', 'openai']) // true
 */
export function distinct<T>(items: readonly T[]): boolean {
  return new Set(items).size === items.length;
}

/**
 * One of the providers.
 *
 * @example providerIdSchema().parse('claude')
 */
export function providerIdSchema() {
  return loadZod().enum(PROVIDER_IDS, { error: `expected a provider: ${PROVIDER_IDS.join(' or ')}` });
}

/**
 * The same schema for each provider, every provider optional, no other key.
 *
 * @example perProvider(wholeNumber(1, 10)).parse({ claude: 3 })
 */
export function perProvider<T extends z.ZodType>(schema: T) {
  return loadZod().strictObject(
    Object.fromEntries(PROVIDER_IDS.map((p) => [p, schema.optional()])) as Record<ProviderId, z.ZodOptional<T>>,
  );
}

/**
 * A list of distinct providers, at least one.
 *
 * @example providerListSchema().parse(['openai', 'claude'])
 */
export function providerListSchema() {
  return loadZod()
    .array(providerIdSchema())
    .min(1, { error: 'expected at least one provider' })
    .refine(distinct, { error: 'expected each provider at most once' })
    .meta({ uniqueItems: true });
}

/**
 * A non-empty string.
 *
 * @example nonEmptyString('a folder path').parse('/srv/codex')
 */
export function nonEmptyString(what: string) {
  const expected = `expected ${what}`;
  return loadZod()
    .string({ error: expected })
    .refine((s) => s.trim() !== '', { error: expected });
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

/**
 * An object we call methods of (a clock, a logger, a ledger instance): any object, class
 * instances included, that has each method. The value is kept as given, never copied.
 *
 * @example withMethods<Clock>('a clock', ['now', 'setTimeout', 'clearTimeout'])
 */
export function withMethods<T>(what: string, methods: readonly string[]) {
  return loadZod().custom<T>((value) => hasMethods(value, methods), {
    error: `expected ${what}: an object with ${methods.map((m) => `${m}()`).join(', ')}`,
  });
}

/**
 * A function we call (authenticate, fetch).
 *
 * @example functionSchema<typeof fetch>('a fetch function')
 */
export function functionSchema<T>(what: string) {
  return loadZod().custom<T>((value) => typeof value === 'function', { error: `expected ${what}` });
}

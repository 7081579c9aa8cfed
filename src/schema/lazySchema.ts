import type { z } from 'zod';

/**
 * zod, loaded on first use. It takes 70-180 ms to load: entry points build their schemas only
 * when a value must be checked, and `agentvisor run` checks none (docs/decisions.md D42).
 *
 * @example const z = loadZod(); z.int().parse(3);
 */
export function loadZod(): typeof z {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy load, see above
  return (require('zod') as { z: typeof z }).z;
}

/**
 * A schema built on first use.
 *
 * @example
 * const tokenSchema = lazySchema((zod) => zod.looseObject({ access_token: zod.string() }));
 * tokenSchema().safeParse(data);
 */
export function lazySchema<S extends z.ZodType>(build: (zod: typeof z) => S): () => S {
  let schema: S | null = null;
  return () => (schema ??= build(loadZod()));
}

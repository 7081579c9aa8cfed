/**
 * prom-client and @statelyai/inspect take 30-40 ms each to load, and pino-pretty is optional: they
 * are required when first used, so a host that turns nothing on pays nothing. `require` (not
 * `import()`) because compiled CommonJS loads the ESM-only inspector through require(esm) and Jest
 * transforms it only on that path.
 */

/**
 * Loads a module on first use.
 *
 * @example const prom = loadModule<typeof import('prom-client')>('prom-client');
 */
export function loadModule<T>(name: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy load, see the file comment
  return require(name) as T;
}

/**
 * Loads an optional module, or returns null when it is not installed (other errors are thrown).
 *
 * @example const pretty = loadOptionalModule<PrettyFactory>('pino-pretty'); // null unless installed
 */
export function loadOptionalModule<T>(name: string): T | null {
  try {
    return loadModule<T>(name);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(name)) return null;
    throw error;
  }
}

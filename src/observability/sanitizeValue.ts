import { maskText } from './secretMasker';
import type { SecretMasker } from './secretMasker';

export interface SanitizeOptions {
  /** Deeper values become `'[Truncated]'`. @default 12 */
  readonly maxDepth?: number;
}

interface Walk {
  readonly masker: SecretMasker | null;
  readonly maxDepth: number;
  /** Objects on the current path: a value met again inside itself is a cycle. */
  readonly path: Set<object>;
}

function hasToJSON(value: object): value is { toJSON(key?: string): unknown } {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

function walk(value: unknown, key: string, depth: number, w: Walk): unknown {
  switch (typeof value) {
    case 'string':
      return maskText(w.masker, value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return String(value);
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (w.path.has(object)) return '[Circular]';
  if (depth >= w.maxDepth) return '[Truncated]';
  // toJSON first: a Secret turns into '[REDACTED]', an actor ref into its id, a snapshot into its data.
  if (hasToJSON(object)) return walk(object.toJSON(key), key, depth, w);
  w.path.add(object);
  try {
    if (Array.isArray(object)) return object.map((item, i) => walk(item, String(i), depth + 1, w));
    if (object instanceof Map)
      return Object.fromEntries([...object].map(([k, v]) => [String(k), walk(v, String(k), depth + 1, w)]));
    if (object instanceof Set) return [...object].map((item, i) => walk(item, String(i), depth + 1, w));
    if (object instanceof Error) {
      const code = (object as { code?: unknown }).code;
      return {
        name: object.name,
        message: maskText(w.masker, object.message),
        ...(code === undefined ? {} : { code: walk(code, 'code', depth + 1, w) }),
      };
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(object)) {
      const clean = walk(v, k, depth + 1, w);
      if (clean !== undefined) out[k] = clean;
    }
    return out;
  } finally {
    w.path.delete(object);
  }
}

/**
 * A JSON-safe copy of any value with no secret in it: strings masked (registered secrets,
 * key-shaped and JWT-shaped text), `toJSON` honoured (so a `Secret` is `'[REDACTED]'`), Maps as
 * objects, Sets as arrays, functions dropped, cycles and excessive depth cut.
 *
 * @example
 * sanitizeValue({ env: { KEY: new Secret('sk-…') }, note: 'token abc…' }, masker)
 * // { env: { KEY: '[REDACTED]' }, note: 'token [REDACTED]' }
 */
export function sanitizeValue(value: unknown, masker: SecretMasker | null, options: SanitizeOptions = {}): unknown {
  return walk(value, '', 0, { masker, maxDepth: options.maxDepth ?? 12, path: new Set() });
}

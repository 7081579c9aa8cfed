/**
 * The errno-style code of a thrown error or of one of its causes: a file system error's own `code`,
 * or the socket error undici wraps in `TypeError: fetch failed` as `cause`.
 *
 * @example errnoOf(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })) // 'ECONNREFUSED'
 * @example errnoOf(await fsp.stat('/missing').catch((e: unknown) => e)) // 'ENOENT'
 */
export function errnoOf(error: unknown): string | null {
  for (
    let current: unknown = error, depth = 0;
    typeof current === 'object' && current !== null && depth < 4;
    depth += 1
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

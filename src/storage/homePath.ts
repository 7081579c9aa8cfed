import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errnoOf } from '../errors';

/** Where a path really leads once symlinks are resolved. */
export interface RealLocation {
  /** The path as given, made absolute. */
  readonly given: string;
  /** The real path; for a missing path, the real path of its nearest existing folder joined with the rest. */
  readonly real: string;
  /** The path itself is a symlink whose target is missing. */
  readonly dangling: boolean;
}

/**
 * Whether `child` is `parent` or lies below it (both absolute and real).
 *
 * @example isInsideFolder('/home/me/.codex', '/home/me/.codex/audit') // true
 */
export function isInsideFolder(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * Resolves every symlink in `p` (itself or any folder above it) without creating anything.
 *
 * @example const { real } = await realLocation('/home/me/.codex/audit'); // '/data/codex/audit' when .codex is a link to /data/codex
 */
export async function realLocation(p: string): Promise<RealLocation> {
  const given = path.resolve(p);
  try {
    return { given, real: await fsp.realpath(given), dangling: false };
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
  const link = await fsp.lstat(given).catch(() => null);
  if (link?.isSymbolicLink()) return { given, real: given, dangling: true };
  const parent = path.dirname(given);
  if (parent === given) return { given, real: given, dangling: false };
  const above = await realLocation(parent);
  return { given, real: path.join(above.real, path.basename(given)), dangling: above.dangling };
}

/**
 * The real location of `p`, or why it may not be used: a path that passes through a symlink must
 * resolve inside `home` (itself resolved), and a dangling symlink is never followed. A plain path
 * is taken as given, wherever it is.
 *
 * @example const checked = await locateUnderHome(auditDir, home); if (checked.problem) refuse(checked.problem);
 */
export async function locateUnderHome(
  p: string,
  home: string,
): Promise<RealLocation & { readonly problem: 'symlink-outside-home' | 'dangling-symlink' | null }> {
  const location = await realLocation(p);
  if (location.dangling) return { ...location, problem: 'dangling-symlink' };
  if (location.real === location.given) return { ...location, problem: null };
  const realHome = (await realLocation(home)).real;
  return { ...location, problem: isInsideFolder(realHome, location.real) ? null : 'symlink-outside-home' };
}

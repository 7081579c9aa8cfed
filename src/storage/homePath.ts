import fs, { promises as fsp } from 'node:fs';
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

/** Why a path may not be used under a home: it resolves outside through a symlink, or a symlink on it dangles. */
export type HomeProblem = 'symlink-outside-home' | 'dangling-symlink';

/** A path's real location and whether the home rule refuses it. */
export type HomeLocation = RealLocation & { readonly problem: HomeProblem | null };

/** A missing path: where its nearest existing folder really is, with the rest joined on. */
function belowParent(given: string, above: RealLocation): RealLocation {
  return { given, real: path.join(above.real, path.basename(given)), dangling: above.dangling };
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
  return belowParent(given, await realLocation(parent));
}

/** `fsp.lstat(p).catch(() => null)`, synchronously. */
function lstatSyncOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/**
 * `realLocation` for a synchronous caller (the config file, read on the CLI's synchronous path): the same steps.
 *
 * @example const { real } = realLocationSync('/home/me/.agentvisor/config.json');
 */
export function realLocationSync(p: string): RealLocation {
  const given = path.resolve(p);
  try {
    return { given, real: fs.realpathSync(given), dangling: false };
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
  const link = lstatSyncOrNull(given);
  if (link?.isSymbolicLink()) return { given, real: given, dangling: true };
  const parent = path.dirname(given);
  if (parent === given) return { given, real: given, dangling: false };
  return belowParent(given, realLocationSync(parent));
}

/** Only a path that passes through a symlink (and resolves) is measured against the real home. */
function needsHome(location: RealLocation): boolean {
  return !location.dangling && location.real !== location.given;
}

/** The home rule, given the real home when `needsHome` said it is needed. */
function underHome(location: RealLocation, realHome: string | null): HomeLocation {
  if (location.dangling) return { ...location, problem: 'dangling-symlink' };
  if (realHome === null) return { ...location, problem: null };
  return { ...location, problem: isInsideFolder(realHome, location.real) ? null : 'symlink-outside-home' };
}

/**
 * The real location of `p`, or why it may not be used: a path that passes through a symlink must
 * resolve inside `home` (itself resolved), and a dangling symlink is never followed. A plain path
 * is taken as given, wherever it is.
 *
 * @example const checked = await locateUnderHome(auditDir, home); if (checked.problem) refuse(checked.problem);
 */
export async function locateUnderHome(p: string, home: string): Promise<HomeLocation> {
  const location = await realLocation(p);
  return underHome(location, needsHome(location) ? (await realLocation(home)).real : null);
}

/**
 * `locateUnderHome` for a synchronous caller, by the same rule (src/config/configFile.ts).
 *
 * @example const checked = locateUnderHomeSync(configFile, home); if (checked.problem) refuse(checked.problem);
 */
export function locateUnderHomeSync(p: string, home: string): HomeLocation {
  const location = realLocationSync(p);
  return underHome(location, needsHome(location) ? realLocationSync(home).real : null);
}

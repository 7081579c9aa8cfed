import crypto from 'node:crypto';
import fs from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { packageVersion } from './packageVersion';

/**
 * A start of the CLI spends most of its own time compiling JavaScript: V8 compiles each function the
 * first time it runs. Node 22's `module.enableCompileCache()` keeps that work on disk; on Node 20
 * this does the same for CommonJS modules: each module is compiled with the V8 code cache saved
 * for it, and the caches missing at the start are written when the process exits (after the run,
 * so they hold every function it compiled, not just the top level).
 */

/** The parts of Node's CommonJS loader a code cache needs: stable since early Node, not in @types/node. */
interface CjsModule {
  exports: unknown;
  require(id: string): unknown;
  _compile(content: string, filename: string): unknown;
}
interface CjsLoader {
  readonly prototype: CjsModule;
  _resolveFilename(request: string, parent: CjsModule, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: CjsModule): string[] | null;
  readonly _extensions: unknown;
  readonly _cache: unknown;
  wrap(script: string): string;
  enableCompileCache?(dir: string): unknown;
}

const loader = Module as unknown as CjsLoader;

export interface CompileCacheStatus {
  /** Whether modules are compiled with the cache from now on. */
  readonly enabled: boolean;
  readonly dir: string;
  /** Why not, when not. */
  readonly reason?: string;
}

/** Modules compiled so far with a cache V8 accepted, without one, and with one V8 refused (rewritten at exit). */
export interface CompileCacheCounts {
  hits: number;
  misses: number;
  rejected: number;
}

const counts: CompileCacheCounts = { hits: 0, misses: 0, rejected: 0 };

/**
 * Where the cache lives: `$XDG_CACHE_HOME/agentvisor` (else `~/.cache/agentvisor`), one folder per
 * agentvisor version, Node.js version and architecture (V8 refuses a cache another V8 wrote).
 *
 * @example defaultCompileCacheDir() // '/home/me/.cache/agentvisor/compile-0.1.0-v20.20.2-x64'
 */
export function defaultCompileCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base =
    env.XDG_CACHE_HOME !== undefined && path.isAbsolute(env.XDG_CACHE_HOME)
      ? env.XDG_CACHE_HOME
      : path.join(os.homedir(), '.cache');
  return path.join(base, 'agentvisor', `compile-${packageVersion()}-${process.version}-${process.arch}`);
}

/** A new `compile-…` folder replaces its siblings: the caches of other agentvisor or Node.js versions. */
function removeOtherVersions(dir: string): void {
  const parent = path.dirname(dir);
  for (const name of fs.readdirSync(parent)) {
    if (name.startsWith('compile-') && name !== path.basename(dir))
      fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
}

/**
 * The folder, created 0700 when missing, if only this user can write to it. A cache is code: one
 * that another user could write would let them run theirs in this process.
 */
function privateFolder(dir: string): string | null {
  try {
    const created = !fs.existsSync(dir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (created && path.basename(dir).startsWith('compile-')) removeOtherVersions(dir);
    const stat = fs.lstatSync(dir);
    if (!stat.isDirectory()) return `${dir} is not a folder`;
    if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) return `${dir} belongs to another user`;
    if ((stat.mode & 0o022) !== 0) return `${dir} is writable by other users`;
    return null;
  } catch (error) {
    return `${dir} cannot be used: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The first part of a module's cache file names: 16 hex digits of its path's sha256. */
function moduleKey(filename: string): string {
  return crypto.createHash('sha256').update(filename).digest('hex').slice(0, 16);
}

/**
 * Removes the caches of a module's earlier texts once the cache of its current text is written: each
 * rebuild would otherwise leave one more (the CLI bundle's is about 0.9 MB). Names of the old form
 * (no `-`) go too. Errors are ignored, as for the cache itself.
 */
function removeEarlierTexts(dir: string, written: string): void {
  const name = path.basename(written);
  const prefix = name.slice(0, name.indexOf('-') + 1);
  for (const other of fs.readdirSync(dir)) {
    const earlier = other.startsWith(prefix) && other !== name && !other.endsWith('.tmp');
    if (earlier || /^[0-9a-f]{64}$/.test(other)) fs.rmSync(path.join(dir, other), { force: true });
  }
}

/** `require` as Node gives it to a module. */
function requireFor(mod: CjsModule): NodeJS.Require {
  const require = ((id: string) => mod.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: { paths?: string[] }) =>
    loader._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => loader._resolveLookupPaths(request, mod);
  return Object.assign(require, {
    resolve,
    main: process.mainModule,
    extensions: loader._extensions,
    cache: loader._cache,
  }) as NodeJS.Require;
}

/**
 * Compiles CommonJS modules loaded from now on with V8 code caches kept in `dir` (see the file
 * comment), or calls Node's own `module.enableCompileCache(dir)` where it exists (Node 22). Off when
 * `NODE_DISABLE_COMPILE_CACHE` is set (Node's own switch) or when the folder is not private to this
 * user. A new `compile-…` folder removes its `compile-…` siblings (other versions). A cache file
 * is named after its module's path and content, so an edited module is never run from an old
 * cache; a cache V8 refuses is compiled anew and rewritten. Errors writing the cache are ignored:
 * it only saves time.
 *
 * @example
 * enableCompileCache(); // bin/agentvisor.js, before it loads the CLI
 * require('../dist/src/cli/main.js').main();
 */
export function enableCompileCache(dir: string = defaultCompileCacheDir()): CompileCacheStatus {
  if (process.env.NODE_DISABLE_COMPILE_CACHE !== undefined)
    return { enabled: false, dir, reason: 'NODE_DISABLE_COMPILE_CACHE is set' };
  if (typeof loader.enableCompileCache === 'function') {
    loader.enableCompileCache(dir);
    return { enabled: true, dir };
  }
  const problem = privateFolder(dir);
  if (problem !== null) return { enabled: false, dir, reason: problem };

  const unsaved: { file: string; script: vm.Script }[] = [];
  const compile = loader.prototype._compile;
  loader.prototype._compile = function compileWithCache(this: CjsModule, content: string, filename: string): unknown {
    // Node 20 loses a script's dynamic-import callback when it is compiled from a code cache: a
    // module that may call import() is compiled by Node itself, without a cache.
    if (typeof content !== 'string' || !/\.c?js$/.test(filename) || /\bimport\s*\(/.test(content))
      return compile.call(this, content, filename);
    // `<module>-<module and text>`: the first part finds the caches of a module's earlier texts (removed when
    // this one is written), the second keeps a cache to the exact text it was made from.
    const file = path.join(
      dir,
      `${moduleKey(filename)}-${crypto.createHash('sha256').update(filename).update('\0').update(content).digest('hex')}`,
    );
    let cachedData: Buffer | undefined;
    try {
      cachedData = fs.readFileSync(file);
    } catch {
      // Not cached yet.
    }
    // A hashbang line is legal only at the very start of a script, and the wrapper comes before it.
    const source = content.startsWith('#!') ? `//${content.slice(2)}` : content;
    const script = new vm.Script(loader.wrap(source), { filename, cachedData });
    if (cachedData === undefined) counts.misses += 1;
    else if (script.cachedDataRejected === true) counts.rejected += 1;
    else counts.hits += 1;
    if (cachedData === undefined || script.cachedDataRejected === true) unsaved.push({ file, script });
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, requireFor(this), this, filename, path.dirname(filename));
  };
  process.once('exit', () => {
    for (const { file, script } of unsaved) {
      const temp = `${file}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(temp, file);
        removeEarlierTexts(dir, file);
      } catch {
        fs.rmSync(temp, { force: true });
      }
    }
  });
  return { enabled: true, dir };
}

/**
 * How the modules compiled so far used the cache (all zero without `enableCompileCache`, or on
 * Node 22 where Node keeps it).
 *
 * @example compileCacheCounts() // { hits: 158, misses: 0, rejected: 0 }
 */
export function compileCacheCounts(): Readonly<CompileCacheCounts> {
  return { ...counts };
}

/**
 * The CLI's V8 code cache (src/cli/compileCache.ts), in fresh node processes: a module tree runs the
 * same from the cache as without it, a cache is written at the first run and used at the next, an
 * edited module or a damaged cache file is compiled anew, and a folder other users could write to,
 * or NODE_DISABLE_COMPILE_CACHE, turns it off.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultCompileCacheDir } from '../../src/cli/compileCache';
import { packageVersion } from '../../src/cli/packageVersion';

const root = path.join(__dirname, '..', '..');
const TS_NODE = require.resolve('ts-node/register/transpile-only');

let tmp: string;
let cacheDir: string;
let app: string;

beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'compile-cache-')));
  cacheDir = path.join(tmp, 'cache', 'compile');
  app = path.join(tmp, 'app');
  fs.mkdirSync(path.join(app, 'lib'), { recursive: true });
  // What a module may rely on: a hashbang, require and require.resolve, __dirname, module.exports;
  // one that calls import() is left to Node (Node 20 loses its import callback with a code cache).
  fs.writeFileSync(
    path.join(app, 'main.js'),
    "#!/usr/bin/env node\n'use strict';\nconst { twice } = require('./lib/twice');\nconst { later } = require('./lib/later');\n" +
      "module.exports = async () => ({ value: twice(21), resolved: path.relative(__dirname, require.resolve('./lib/twice')), dynamic: await later() });\n" +
      "const path = require('node:path');\n",
  );
  fs.writeFileSync(
    path.join(app, 'lib', 'later.js'),
    "exports.later = async () => (await import('./later.mjs')).later;\n",
  );
  fs.writeFileSync(path.join(app, 'lib', 'twice.js'), 'exports.twice = (n) => n * 2;\n');
  fs.writeFileSync(path.join(app, 'lib', 'later.mjs'), "export const later = 'esm';\n");
});

afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Enables the cache in a fresh process (with `env`), runs the app, and reports what happened. */
function runApp(env: Record<string, string> = {}): {
  status: { enabled: boolean; reason?: string };
  counts: { hits: number; misses: number; rejected: number };
  result: unknown;
} {
  const script = `
    const cache = require(${JSON.stringify(path.join(root, 'src', 'cli', 'compileCache'))});
    const status = cache.enableCompileCache(${JSON.stringify(cacheDir)});
    require(${JSON.stringify(path.join(app, 'main.js'))})()
      .then((result) => console.log(JSON.stringify({ status, counts: cache.compileCacheCounts(), result })));`;
  const out = execFileSync(process.execPath, ['-r', TS_NODE, '-e', script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TS_NODE_PROJECT: path.join(root, 'tsconfig.json'), ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as ReturnType<typeof runApp>;
}

const RESULT = { value: 42, resolved: path.join('lib', 'twice.js'), dynamic: 'esm' };

describe('enableCompileCache', () => {
  it('should write a cache at the first run, 0600 in a 0700 folder, and run from it at the next with the same result', () => {
    const first = runApp();
    expect(first).toEqual({
      status: { enabled: true, dir: cacheDir },
      counts: { hits: 0, misses: 2, rejected: 0 },
      result: RESULT,
    });
    const files = fs.readdirSync(cacheDir);
    expect(files).toHaveLength(2);
    expect(fs.statSync(cacheDir).mode & 0o777).toBe(0o700);
    for (const file of files) expect(fs.statSync(path.join(cacheDir, file)).mode & 0o777).toBe(0o600);
    expect(runApp()).toEqual({ ...first, counts: { hits: 2, misses: 0, rejected: 0 } });
    expect(fs.readdirSync(cacheDir)).toHaveLength(2);
  });

  it('should compile an edited module anew, never from the cache of its old text', () => {
    runApp();
    fs.writeFileSync(path.join(app, 'lib', 'twice.js'), 'exports.twice = (n) => n * 3;\n');
    expect(runApp()).toMatchObject({ counts: { hits: 1, misses: 1, rejected: 0 }, result: { value: 63 } });
  });

  it("should keep one cache per module: writing the cache of a module's new text removes those of its earlier texts", () => {
    runApp();
    const before = fs.readdirSync(cacheDir).sort();
    fs.writeFileSync(path.join(app, 'lib', 'twice.js'), 'exports.twice = (n) => n * 3;\n');
    runApp();
    fs.writeFileSync(path.join(app, 'lib', 'twice.js'), 'exports.twice = (n) => n * 4;\n');
    expect(runApp()).toMatchObject({ counts: { hits: 1, misses: 1, rejected: 0 }, result: { value: 84 } });
    const after = fs.readdirSync(cacheDir).sort();
    expect(after).toHaveLength(2);
    // main.js's cache is the same file; twice.js's has the same module part and a new text part.
    expect(after.filter((name) => before.includes(name))).toHaveLength(1);
    expect(new Set(after.map((name) => name.split('-')[0]))).toEqual(new Set(before.map((name) => name.split('-')[0])));
  });

  it('should compile anew, and rewrite, a cache file V8 refuses', () => {
    runApp();
    for (const file of fs.readdirSync(cacheDir)) fs.writeFileSync(path.join(cacheDir, file), 'not a V8 code cache');
    expect(runApp()).toMatchObject({ counts: { hits: 0, misses: 0, rejected: 2 }, result: RESULT });
    expect(runApp()).toMatchObject({ counts: { hits: 2, misses: 0, rejected: 0 } });
  });

  it("should remove the caches of other versions (the new folder's compile-… siblings) when it creates its folder, nothing else", () => {
    const parent = path.join(tmp, 'cache');
    for (const name of ['compile-0.0.9-v20.1.0-x64', 'compile-0.1.0-v20.20.2-x64', 'notes'])
      fs.mkdirSync(path.join(parent, name, 'x'), { recursive: true });
    cacheDir = path.join(parent, 'compile-0.1.1-v20.20.2-x64');
    expect(runApp()).toMatchObject({ status: { enabled: true }, counts: { misses: 2 } });
    expect(fs.readdirSync(parent).sort()).toEqual(['compile-0.1.1-v20.20.2-x64', 'notes']);
    // An existing folder is used as it is: its siblings stay.
    fs.mkdirSync(path.join(parent, 'compile-0.1.2-v22.0.0-x64'));
    expect(runApp()).toMatchObject({ counts: { hits: 2 } });
    expect(fs.readdirSync(parent).sort()).toEqual(['compile-0.1.1-v20.20.2-x64', 'compile-0.1.2-v22.0.0-x64', 'notes']);
  });

  it('should stay off in a folder other users could write to, and when NODE_DISABLE_COMPILE_CACHE is set', () => {
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.chmodSync(cacheDir, 0o777);
    expect(runApp()).toEqual({
      status: { enabled: false, dir: cacheDir, reason: `${cacheDir} is writable by other users` },
      counts: { hits: 0, misses: 0, rejected: 0 },
      result: RESULT,
    });
    fs.chmodSync(cacheDir, 0o700);
    expect(runApp({ NODE_DISABLE_COMPILE_CACHE: '1' })).toMatchObject({
      status: { enabled: false, reason: 'NODE_DISABLE_COMPILE_CACHE is set' },
      counts: { hits: 0, misses: 0 },
    });
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });
});

describe('defaultCompileCacheDir', () => {
  it('should be under XDG_CACHE_HOME when it is an absolute path, else ~/.cache, one folder per agentvisor version, Node.js and architecture', () => {
    const leaf = `compile-${packageVersion()}-${process.version}-${process.arch}`;
    expect(defaultCompileCacheDir({ XDG_CACHE_HOME: '/var/cache/me' })).toBe(
      path.join('/var/cache/me', 'agentvisor', leaf),
    );
    expect(defaultCompileCacheDir({ XDG_CACHE_HOME: 'relative' })).toBe(
      path.join(os.homedir(), '.cache', 'agentvisor', leaf),
    );
    expect(defaultCompileCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'agentvisor', leaf));
  });
});

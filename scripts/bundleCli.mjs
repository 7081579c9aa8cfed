// Bundles the compiled CLI (dist/src/cli/main.js) into one file, dist/cli.cjs, which bin/agentvisor.js
// loads: one module to read and compile instead of ~150 (D39). Run by `npm run build` after tsc.
//
// Packages the CLI loads only when used (loadModule in src/observability/lazyModule.ts) stay outside
// the bundle and are required at run time from node_modules. loadModule's own modules ('../cli/…',
// '../quota/redisLedger', names relative to src/observability) would not resolve from dist/: the
// bundle's loadModule gets a table of static requires for them, so they are in the bundle, each
// evaluated on its first call only (esbuild wraps a required module in an init function).
import fs from 'node:fs';
import path from 'node:path';
import esbuild from 'esbuild';

const root = path.join(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const entry = path.join(dist, 'src', 'cli', 'main.js');
const outfile = path.join(dist, 'cli.cjs');
const lazyModuleFile = path.join(dist, 'src', 'observability', 'lazyModule.js');
/** Loaded through loadModule, or optional: never in the bundle. */
const EXTERNAL = ['zod', 'ioredis', 'prom-client', '@statelyai/inspect', 'ws', 'pino', 'pino-pretty'];

function jsFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? jsFiles(path.join(dir, e.name)) : e.name.endsWith('.js') ? [path.join(dir, e.name)] : [],
    );
}

/** Every relative name passed to loadModule in the compiled code (they are literals: checked). */
function relativeLazyNames() {
  const names = new Set();
  for (const file of jsFiles(path.join(dist, 'src'))) {
    const code = fs.readFileSync(file, 'utf8');
    for (const m of code.matchAll(/\.loadModule\)\(([^)]*)\)/g)) {
      const literal = /^'([^']+)'$/.exec(m[1]);
      if (literal === null)
        throw new Error(
          `${path.relative(root, file)}: loadModule(${m[1]}) takes a string literal in code the CLI bundle holds`,
        );
      if (literal[1].startsWith('.')) names.add(literal[1]);
    }
  }
  return [...names].sort();
}

const lazyNames = relativeLazyNames();
const lazyTable = {
  name: 'lazy-module-table',
  setup(build) {
    build.onLoad({ filter: /[\\/]observability[\\/]lazyModule\.js$/ }, (args) => {
      if (path.resolve(args.path) !== lazyModuleFile) return undefined;
      const code = fs.readFileSync(args.path, 'utf8');
      const body = 'return require(name);';
      if (!code.includes(body))
        throw new Error(`${args.path}: loadModule no longer reads "${body}": update scripts/bundleCli.mjs`);
      const table = `const BUNDLED = {\n${lazyNames.map((n) => `  ${JSON.stringify(n)}: () => require(${JSON.stringify(n)}),`).join('\n')}\n};\n`;
      return {
        contents: `${table}${code.replace(body, 'return Object.hasOwn(BUNDLED, name) ? BUNDLED[name]() : require(name);')}`,
        loader: 'js',
      };
    });
  },
};

/**
 * proper-lockfile (the file ledger's and credential store's lock) requires graceful-fs, whose load
 * patches and clones node:fs: about a tenth of the bundle's start, paid before the agent starts (D48).
 * Its EMFILE queue is not needed for a lock's few calls: the bundle gets node:fs in its place.
 */
const plainFs = {
  name: 'graceful-fs-as-node-fs',
  setup(build) {
    build.onResolve({ filter: /^graceful-fs$/ }, () => ({ path: 'graceful-fs', namespace: 'plain-fs' }));
    build.onLoad({ filter: /.*/, namespace: 'plain-fs' }, () => ({ contents: "module.exports = require('node:fs');" }));
  },
};

const result = await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: EXTERNAL,
  plugins: [lazyTable, plainFs],
  metafile: true,
  logLevel: 'warning',
});

const inputs = Object.keys(result.metafile.inputs);
const packages = new Set(
  inputs.filter((i) => i.includes('node_modules/')).map((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(i)[1]),
);
const leaked = [...EXTERNAL, 'graceful-fs'].filter((p) => packages.has(p));
if (leaked.length > 0)
  throw new Error(`dist/cli.cjs holds ${leaked.join(', ')}, which must load only when used (graceful-fs: never)`);
const missing = lazyNames.filter(
  (n) => !inputs.some((i) => path.resolve(root, i) === path.join(dist, 'src', 'observability', `${n}.js`)),
);
if (missing.length > 0) throw new Error(`dist/cli.cjs lacks the lazily loaded ${missing.join(', ')}`);
const bytes = fs.statSync(outfile).size;
console.log(
  `dist/cli.cjs: ${(bytes / 1024).toFixed(0)} KiB, ${inputs.length} modules (packages: ${[...packages].sort().join(', ')})`,
);

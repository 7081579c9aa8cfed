#!/usr/bin/env node
'use strict';
// The package's command. `npm ci` / `npm install` build dist/ through the `prepare` script.
// Modules load with V8 code caches kept in ~/.cache/agentvisor (src/cli/compileCache.ts): most of a
// start's own time is compiling JavaScript. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
const fs = require('node:fs');
const path = require('node:path');

require('../dist/src/cli/compileCache.js').enableCompileCache();
// `npm run build` also bundles the CLI into one file (scripts/bundleCli.mjs, D39), which starts in
// about half the time of its ~200 modules. The compiled modules are the same code and run when the
// bundle is missing or older than them: a build by `tsc` alone (a watch build, an edit rebuilt
// without bundling) must not run yesterday's bundle. Equal times are fresh: npm packs every file with one date.
const dist = path.join(__dirname, '..', 'dist');
const bundle = fs.statSync(path.join(dist, 'cli.cjs'), { throwIfNoEntry: false });
const modules = fs.statSync(path.join(dist, 'src', 'cli', 'main.js'), { throwIfNoEntry: false });
const fresh = bundle !== undefined && (modules === undefined || bundle.mtimeMs >= modules.mtimeMs);
void require(fresh ? '../dist/cli.cjs' : '../dist/src/cli/main.js').main();

#!/usr/bin/env node
'use strict';
// The package's command. `npm ci` / `npm install` build dist/ through the `prepare` script.
// Modules load with V8 code caches kept in ~/.cache/agentvisor (src/cli/compileCache.ts): most of a
// start's own time is compiling JavaScript. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
require('../dist/src/cli/compileCache.js').enableCompileCache();
void require('../dist/src/cli/main.js').main();

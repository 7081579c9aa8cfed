#!/usr/bin/env node
'use strict';
// The package's command. `npm ci` / `npm install` build dist/ through the `prepare` script.
void require('../dist/src/cli/main.js').main();

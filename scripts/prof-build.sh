#!/usr/bin/env bash
# Builds src/ and scripts/prof.ts into .prof/build for profiling with plain node.
set -euo pipefail
rm -rf .prof/build
npx tsc -p tsconfig.build.json --outDir .prof/build
cp scripts/prof.ts scripts/prof2.ts scripts/heap.ts .prof/build/
sed -i "s#'../src'#'./src'#" .prof/build/prof.ts .prof/build/prof2.ts .prof/build/heap.ts
npx tsc --module nodenext --moduleResolution nodenext --target es2022 --skipLibCheck --esModuleInterop .prof/build/prof.ts .prof/build/prof2.ts .prof/build/heap.ts --outDir .prof/build

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../..');

/**
 * Cycles known and accepted, each as its files in cycle order starting at the alphabetically
 * first, with the reason. Empty: src/ and machines/ have none.
 */
const KNOWN_CYCLES: ReadonlyArray<{ readonly cycle: string; readonly reason: string }> = [];

function sourceFiles(folder: string): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** `./x` → x.ts or x/index.ts; null for a package or a built or JSON file (a `.js` path in a comment). */
function resolveImport(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.') || /\.(js|json)$/.test(specifier)) return null;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  throw new Error(`${path.relative(REPO_ROOT, from)}: cannot resolve '${specifier}'`);
}

/**
 * The runtime import graph: `import type` and `export type` are left out, since TypeScript erases
 * them (the layer rule in eslint.config.mjs covers them); a `type` marker on single names inside
 * braces does not make the import type-only.
 */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const statement =
    /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/gm;
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const targets = new Set<string>();
    for (const match of text.matchAll(statement)) {
      if (match[2] !== undefined) continue;
      const target = resolveImport(file, match[3] ?? match[4] ?? match[5] ?? '');
      if (target !== null) targets.add(target);
    }
    graph.set(file, [...targets]);
  }
  return graph;
}

/** Every elementary cycle's files, found by DFS (one cycle per back edge), each rotated to start at its smallest file. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') {
        const cycle = stack.slice(stack.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0] ?? next);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.join(' -> '), rotated);
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return [...cycles.values()];
}

describe('import cycles', () => {
  it('src/ and machines/ import each other in no circle (at runtime)', () => {
    const files = [...sourceFiles(path.join(REPO_ROOT, 'src')), ...sourceFiles(path.join(REPO_ROOT, 'machines'))];
    const graph = importGraph(files);
    expect(graph.size).toBeGreaterThan(100);
    const known = new Set(KNOWN_CYCLES.map((k) => k.cycle));
    const cycles = findCycles(graph)
      .map((cycle) => cycle.map((file) => path.relative(REPO_ROOT, file)).join(' -> '))
      .filter((cycle) => !known.has(cycle));
    expect(cycles).toEqual([]);
  });

  it('finds a circle when there is one, and not when imports are type-only', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-cycles-'));
    try {
      const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
      write('a.ts', "import { b } from './b';\nexport const a = b;\n");
      write('b.ts', "import {\n  c,\n} from './c';\nexport const b = c;\n");
      write('c.ts', "export { a } from './a';\nimport type { D } from './d';\nexport const c = 1;\n");
      write('d.ts', "import type { c } from './c';\nexport type D = typeof c;\n");
      const cycles = findCycles(importGraph(['a.ts', 'b.ts', 'c.ts', 'd.ts'].map((name) => path.join(dir, name))));
      expect(cycles.map((cycle) => cycle.map((file) => path.basename(file)))).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { docsCodeBlocks, markdownFiles } from '../helpers/docsCodeBlocks';

// Issue 15 item 9: every ```ts block in README.md and docs/ compiles, as a consumer writes it
// (imports from 'agentvisor' and its subpaths, strict, ESM with top-level await).
const ROOT = path.join(__dirname, '..', '..');

/** 'agentvisor' and each subpath of the package's exports map, pointed at the source file it is built from. */
function packagePaths(): Record<string, string[]> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    exports?: Record<string, unknown>;
    types: string;
  };
  const source = (typesPath: string): string =>
    path.join(ROOT, typesPath.replace(/^\.?\/?dist\//, '').replace(/\.d\.(c|m)?ts$/, '.ts'));
  const paths: Record<string, string[]> = { agentvisor: [source(pkg.types)] };
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const types = findTypes(target);
    if (subpath === '.' || !subpath.startsWith('./') || types === undefined) continue;
    paths[`agentvisor/${subpath.slice(2)}`] = [source(types)];
  }
  return paths;
}

function findTypes(target: unknown): string | undefined {
  if (typeof target !== 'object' || target === null) return undefined;
  const record = target as Record<string, unknown>;
  if (typeof record.types === 'string') return record.types;
  for (const value of Object.values(record)) {
    const found = findTypes(value);
    if (found !== undefined) return found;
  }
  return undefined;
}

describe('code examples in README.md and docs/', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-docs-examples-'));
    // Examples also import the official SDKs (devDependencies): resolve them as a consumer would.
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds the blocks (the README embed example among them)', () => {
    const blocks = docsCodeBlocks(ROOT, markdownFiles(ROOT));
    expect(blocks.length).toBeGreaterThanOrEqual(15);
    expect(blocks.some((block) => block.where.startsWith('README.md:'))).toBe(true);
  });

  it('every block type-checks strictly against the package surface', () => {
    const blocks = docsCodeBlocks(ROOT, markdownFiles(ROOT));
    const fileOf = new Map<string, string>();
    blocks.forEach((block, index) => {
      const file = path.join(dir, `example${index}.mts`);
      // The prelude goes on the same first line so that line numbers in the block stay as in the page.
      fs.writeFileSync(file, `${block.prelude.replace(/\n/g, ' ')}\n${block.code}\nexport {};\n`);
      fileOf.set(file, block.where);
    });
    const program = ts.createProgram([...fileOf.keys()], {
      strict: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      skipLibCheck: true,
      esModuleInterop: true,
      paths: packagePaths(),
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && fileOf.has(path.normalize(d.file.fileName)))
      .map((d) => {
        const file = d.file as ts.SourceFile;
        const { line } = file.getLineAndCharacterOfPosition(d.start ?? 0);
        const [page, first] = (fileOf.get(path.normalize(file.fileName)) ?? '?:0').split(':');
        return `${page}:${Number(first) + line - 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  });
});

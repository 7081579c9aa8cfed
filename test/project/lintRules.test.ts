import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const REPO_ROOT = path.resolve(__dirname, '../..');

interface LintMessage {
  readonly ruleId: string | null;
  readonly message: string;
  readonly line: number;
}

interface LintCase {
  readonly filePath: string;
  readonly text: string;
}

/**
 * ESLint 9 loads eslint.config.mjs with a dynamic import, which Jest's VM cannot run without
 * --experimental-vm-modules; so the ESLint Node API runs in a plain Node child process here.
 */
const LINT_SCRIPT = `
import { ESLint } from 'eslint';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const c of cases) {
  const [result] = await eslint.lintText(c.text, { filePath: c.filePath });
  out.push(result.messages.map((m) => ({ ruleId: m.ruleId, message: m.message, line: m.line })));
}
process.stdout.write(JSON.stringify(out));
`;

async function lintTexts(cases: readonly LintCase[]): Promise<LintMessage[][]> {
  const run = promisify(execFile);
  const child = run(process.execPath, ['--input-type=module', '-e', LINT_SCRIPT], {
    cwd: REPO_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  child.child.stdin?.end(JSON.stringify(cases));
  const { stdout } = await child;
  return JSON.parse(stdout) as LintMessage[][];
}

const IMPURE = [
  "import { createOrchestrator } from '../src/index';",
  "import { readFileSync } from 'node:fs';",
  'export const x = [createOrchestrator, readFileSync];',
  '',
].join('\n');

describe('lint rules', () => {
  let results: LintMessage[][];

  beforeAll(async () => {
    results = await lintTexts([
      { filePath: path.join(REPO_ROOT, 'machines/x.ts'), text: IMPURE },
      {
        filePath: path.join(REPO_ROOT, 'src/orchestrator/x.ts'),
        text: "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
      },
      {
        filePath: path.join(REPO_ROOT, 'machines/y.ts'),
        text: "import pino from 'pino';\nimport { nanoid } from 'nanoid';\nimport { setup } from 'xstate';\nexport const y = [pino, nanoid, setup];\n",
      },
      {
        filePath: path.join(REPO_ROOT, 'machines/z.ts'),
        text: "import { setup } from 'xstate';\nimport { PROVIDER_IDS } from './providers';\nexport const z = [setup, PROVIDER_IDS];\n",
      },
      { filePath: path.join(REPO_ROOT, 'src/x.ts'), text: 'export enum Color { Red }\n' },
    ]);
  }, 60_000);

  it('should report a machines/ file that imports from src/ and node:fs under no-restricted-imports', () => {
    const restricted = results[0]!.filter((m) => m.ruleId === 'no-restricted-imports');
    expect(restricted.map((m) => m.line)).toEqual([1, 2]);
    expect(restricted[0]!.message).toContain('must not import from src/');
    expect(restricted[1]!.message).toContain('machines/ is pure');
  });

  it('should let a src/ file import node:fs', () => {
    expect(results[1]).toEqual([]);
  });

  it('should report I/O libraries such as pino and nanoid in machines/ but allow xstate', () => {
    expect(results[2]!.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.line)).toEqual([1, 2]);
  });

  it('should let a machines/ file import xstate and other machines', () => {
    expect(results[3]).toEqual([]);
  });

  it('should forbid TypeScript enums', () => {
    expect(results[4]!.map((m) => m.ruleId)).toContain('no-restricted-syntax');
  });
});

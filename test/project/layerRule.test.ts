import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const REPO_ROOT = path.resolve(__dirname, '../..');

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
const eslint = new ESLint({ cwd: process.cwd(), overrideConfigFile: 'eslint.config.mjs' });
const out = [];
for (const c of JSON.parse(input)) {
  const [result] = await eslint.lintText(c.text, { filePath: c.filePath });
  out.push(result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.line));
}
process.stdout.write(JSON.stringify(out));
`;

/** The lines of each case that the layer rule flags. */
async function layerErrors(cases: readonly LintCase[]): Promise<number[][]> {
  const run = promisify(execFile);
  const child = run(process.execPath, ['--input-type=module', '-e', LINT_SCRIPT], {
    cwd: REPO_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  child.child.stdin?.end(JSON.stringify(cases));
  const { stdout } = await child;
  return JSON.parse(stdout) as number[][];
}

const file = (relative: string, ...imports: string[]): LintCase => ({
  filePath: path.join(REPO_ROOT, relative),
  text: `${imports.map((from, i) => `import { x${i} } from '${from}';`).join('\n')}\nexport const all = [${imports.map((_, i) => `x${i}`).join(', ')}];\n`,
});

describe('the layer rule of eslint.config.mjs', () => {
  let results: number[][];

  beforeAll(async () => {
    results = await layerErrors([
      file('src/providers/x.ts', '../cli/main'),
      file('src/cli/x.ts', '../providers', '../orchestrator/options', '../../machines/providers'),
      file('src/quota/x.ts', '../orchestrator/ledgerLink', '../storage/atomicFile', '../errors'),
      file(
        'src/credentials/sources/x.ts',
        '../credentialResolver',
        '../../storage/secureStore',
        './jwt',
        '../../oauth',
        '..',
      ),
      file('src/oauth/x.ts', '../credentials/sources/jwt', '../credentials', '../credentials/credentialResolver'),
      file('src/config/x.ts', '../orchestrator/options', '../orchestrator/createOrchestrator'),
      file('src/options/x.ts', '../providers', '../credentials'),
      file('src/schema/x.ts', '../errors', '../quota/ledger', '../config/configProblems', '../config/configFile'),
      file('src/quota/x.ts', '../schema/checkOptions', '../options/ledgerOptions'),
    ]);
  }, 60_000);

  it('refuses an import of a later layer: providers may not import the CLI', () => {
    expect(results[0]).toEqual([1]);
  });

  it('lets a later layer import earlier ones (and machines/)', () => {
    expect(results[1]).toEqual([]);
    expect(results[2]).toEqual([1]);
  });

  it('keeps the credential file readers below the rest of credentials/ and below oauth', () => {
    expect(results[3]).toEqual([1, 4, 5]);
    expect(results[4]).toEqual([2, 3]);
  });

  it('allows only the listed exceptions: config may use the orchestrator option types, nothing else there', () => {
    expect(results[5]).toEqual([2]);
  });

  it('keeps src/options above the providers and below credentials: providers yes, credentials no', () => {
    expect(results[6]).toEqual([2]);
  });

  it('keeps src/schema right above errors, with its one exception: the lazily required problem formatter', () => {
    expect(results[7]).toEqual([2, 4]);
    expect(results[8]).toEqual([2]);
  });
});

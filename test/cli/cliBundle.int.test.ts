/**
 * bin/agentvisor.js runs the CLI bundle (dist/cli.cjs, scripts/bundleCli.mjs) when it is there and
 * at least as new as the compiled modules, else the modules; and inside the bundle each command's
 * module is evaluated only when its command runs. Which file ran and which bundled modules were
 * evaluated are read from V8's coverage (NODE_V8_COVERAGE): esbuild wraps every bundled module in a
 * function named after its path, called once when the module is first required. The bundle holds
 * node:fs where proper-lockfile requires graceful-fs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFileLedger } from '../../src/quota/fileLedger';

const root = path.join(__dirname, '..', '..');
const PATH = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
const COMMAND_MODULES = [
  'demoRun',
  'runCommands',
  'batchCommand',
  'loginCommands',
  'statusCommands',
  'quotaCommand',
  'testCommand',
].map((m) => `dist/src/cli/${m}.js`);
const PKG = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

interface CoverageFunction {
  readonly functionName: string;
  readonly ranges: readonly { readonly count: number }[];
}
interface Coverage {
  readonly result: readonly { readonly url: string; readonly functions: readonly CoverageFunction[] }[];
}

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  /** The files that ran from the bin's package or this checkout (not node_modules), relative to the bin's package. */
  readonly scripts: string[];
  /** The bundled modules that were evaluated (named by their path in the bundle). */
  readonly evaluated: string[];
}

let dir: string;

beforeAll(() => {
  for (const built of ['dist/cli.cjs', 'dist/src/cli/main.js']) {
    if (!fs.existsSync(path.join(root, built)))
      throw new Error(`${built} is missing: run npm run build (npm ci does) before this test`);
  }
});

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-bundle-')));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function runBin(bin: string, args: readonly string[]): Promise<Ran> {
  const coverage = fs.mkdtempSync(path.join(dir, 'coverage-'));
  // Coverage needs each script compiled here: no code cache.
  const env = { PATH, HOME: dir, NODE_V8_COVERAGE: coverage, NODE_DISABLE_COMPILE_CACHE: '1' };
  const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      const scripts: string[] = [];
      const evaluated: string[] = [];
      for (const file of fs.readdirSync(coverage)) {
        for (const script of (JSON.parse(fs.readFileSync(path.join(coverage, file), 'utf8')) as Coverage).result) {
          if (!script.url.startsWith('file://')) continue;
          const file = new URL(script.url).pathname;
          if (file.includes('/node_modules/') || !(file.startsWith(`${root}/`) || file.startsWith(`${dir}/`))) continue;
          const local = path.relative(path.dirname(path.dirname(bin)), file);
          scripts.push(local);
          if (local === path.join('dist', 'cli.cjs'))
            evaluated.push(
              ...script.functions
                .filter((f) => /^dist\//.test(f.functionName) && f.ranges[0]!.count > 0)
                .map((f) => f.functionName),
            );
        }
      }
      resolve({ status, stdout, scripts: scripts.sort(), evaluated });
    });
  });
}

describe('bin/agentvisor.js with the CLI bundle', () => {
  it('should answer --version from the bundle without evaluating any command module', async () => {
    const ran = await runBin(path.join(root, 'bin', 'agentvisor.js'), ['--version']);
    expect({ status: ran.status, stdout: ran.stdout }).toEqual({ status: 0, stdout: `${PKG.version}\n` });
    expect(ran.scripts).toEqual([
      'bin/agentvisor.js',
      'dist/cli.cjs',
      'dist/src/cli/compileCache.js',
      'dist/src/cli/packageVersion.js',
    ]);
    expect(ran.evaluated).toContain('dist/src/cli/packageVersion.js');
    expect(ran.evaluated.filter((m) => COMMAND_MODULES.includes(m))).toEqual([]);
  });

  it("should run a demo from the bundle, evaluating the demo's module and not the batch, login, status, quota or test ones", async () => {
    const ran = await runBin(path.join(root, 'bin', 'agentvisor.js'), [
      'demo',
      '--agents',
      '2',
      '--throttle-agents',
      '0',
    ]);
    expect(ran.status).toBe(0);
    expect(ran.stdout).toContain('settled: every allocation returned, usage counted once');
    expect(
      ran.scripts.filter(
        (s) =>
          s.startsWith('dist/src/') && s !== 'dist/src/cli/compileCache.js' && s !== 'dist/src/cli/packageVersion.js',
      ),
    ).toEqual([]);
    // demoRun imports a helper from runCommands.
    expect(ran.evaluated.filter((m) => COMMAND_MODULES.includes(m)).sort()).toEqual([
      'dist/src/cli/demoRun.js',
      'dist/src/cli/runCommands.js',
    ]);
  });

  it("should lock the ledger with node:fs in graceful-fs's place (scripts/bundleCli.mjs, D48)", async () => {
    const bundle = fs.readFileSync(path.join(root, 'dist', 'cli.cjs'), 'utf8');
    expect(bundle).not.toMatch(/node_modules\/graceful-fs\//);
    expect(bundle).toMatch(/node_modules\/proper-lockfile\//);
    // Books another process wrote: `quota` reads them under the ledger's lock (proper-lockfile).
    const home = path.join(dir, 'home');
    const ledger = createFileLedger({
      file: path.join(home, 'agentvisor', 'ledger.json'),
      home: dir,
      limits: {
        claude: { dailyLimit: 1_000_000, maxConcurrent: 2 },
        openai: { dailyLimit: 1_000_000, maxConcurrent: 2 },
      },
    });
    await ledger.reserve({ provider: 'claude', sessionId: 's-bundle', tokens: 1_234, leaseMs: 3_600_000 });
    await ledger.close();
    const ran = await runBin(path.join(root, 'bin', 'agentvisor.js'), ['--home', home, '--json', 'quota']);
    expect(ran).toMatchObject({ status: 0, scripts: expect.arrayContaining(['dist/cli.cjs']) });
    const quota = JSON.parse(ran.stdout) as { providers: { provider: string; reserved: number }[] };
    expect(quota.providers.find((p) => p.provider === 'claude')).toMatchObject({ reserved: 1_234 });
  });

  it('should run the compiled modules when the bundle is older than them (a build by tsc alone)', async () => {
    // A copy of the package whose dist/src is this checkout's (by a link) and whose bundle predates it.
    const copy = path.join(dir, 'package');
    fs.mkdirSync(path.join(copy, 'dist'), { recursive: true });
    fs.cpSync(path.join(root, 'bin'), path.join(copy, 'bin'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
    fs.symlinkSync(path.join(root, 'dist', 'src'), path.join(copy, 'dist', 'src'), 'dir');
    fs.copyFileSync(path.join(root, 'dist', 'cli.cjs'), path.join(copy, 'dist', 'cli.cjs'));
    const modules = fs.statSync(path.join(root, 'dist', 'src', 'cli', 'main.js')).mtime;
    fs.utimesSync(path.join(copy, 'dist', 'cli.cjs'), modules, new Date(modules.getTime() - 60_000));

    const stale = await runBin(path.join(copy, 'bin', 'agentvisor.js'), ['--version']);
    const checkout = (file: string) => path.relative(copy, path.join(root, file));
    expect(stale).toMatchObject({ status: 0, stdout: `${PKG.version}\n` });
    expect(stale.scripts).toContain(checkout('dist/src/cli/main.js'));
    expect(stale.scripts).not.toContain('dist/cli.cjs');

    // The control: the same copy with a newer bundle runs the bundle.
    fs.utimesSync(path.join(copy, 'dist', 'cli.cjs'), modules, new Date(modules.getTime() + 1000));
    const fresh = await runBin(path.join(copy, 'bin', 'agentvisor.js'), ['--version']);
    expect(fresh).toMatchObject({ status: 0, stdout: `${PKG.version}\n` });
    expect(fresh.scripts).toContain('dist/cli.cjs');
    expect(fresh.scripts).not.toContain(checkout('dist/src/cli/main.js'));
  });
});

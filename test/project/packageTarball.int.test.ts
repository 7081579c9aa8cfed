/**
 * The package as a consumer gets it (issue 15, item 1): `npm pack` (its own prepack and prepare
 * scripts, in a staged copy so the checkout's dist/ is left alone), then fresh ESM and CommonJS
 * projects install the tarball from the npm cache and use the root and every subpath from Node,
 * from Jest with no config, from a strict tsc, and through the bin.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { T0 } from '../helpers/timeOrigin';

jest.setTimeout(600_000);

const ROOT = path.join(__dirname, '..', '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  files: string[];
};
const SUBPATHS = ['ledger', 'failures', 'testing', 'machines'] as const;
const HEAVY = /node_modules[\\/](ioredis|ws|prom-client|@statelyai[\\/]inspect|@types[\\/]ws)[\\/]/;
const versionOf = (name: string) =>
  (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command in its own process group, killed as a whole on timeout. */
function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 300_000,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function ok(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const ran = await run(command, args, cwd, env);
  if (ran.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited ${ran.status}:\n${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`,
    );
  return ran.stdout;
}

// One scenario, run from ESM, CommonJS and Jest: a session on the memory ledger, the ledger, a
// classifier, the manual clock and the machines, each from its entry point.
const SCENARIO = `async function scenario({ av, ledger, failures, testing, machines }, home) {
  const clock = testing.createManualClock(${T0});
  const orch = av.createOrchestrator({ home, env: { ANTHROPIC_API_KEY: 'sk-ant-api03-FAKEpackageKEY-0000' }, clock });
  await orch.start();
  const agent = await orch.spawnAgent({ estimatedTokens: 1000 });
  agent.reportUsage(av.usageFromAnthropic({ usage: { input_tokens: 300, output_tokens: 100 } }));
  const released = await agent.release();
  const used = orch.stats().providers.claude.used;
  await orch.stop();
  let refused = null;
  try {
    av.createOrchestrator({ limits: 'lots' });
  } catch (error) {
    refused = error instanceof av.AgentvisorError && av.isAgentvisorError(error, 'invalid-option');
  }
  const book = ledger.createMemoryLedger({ limits: { claude: { dailyLimit: 1000, maxConcurrent: 1 }, openai: { dailyLimit: 1000, maxConcurrent: 1 } } });
  const outcomes = [
    await book.reserve({ provider: 'claude', sessionId: 's-1', tokens: 600, leaseMs: 60000 }),
    await book.reserve({ provider: 'claude', sessionId: 's-2', tokens: 100, leaseMs: 60000 }),
  ];
  await book.close();
  const failure = failures.classifyHttpFailure({
    provider: 'openai', status: 429, now: 0,
    body: { error: { type: 'insufficient_quota', code: 'insufficient_quota', message: 'You exceeded your current quota' } },
  });
  return {
    functions: [
      av.createOrchestrator, av.runAgentTask, av.runAgentBatch, ledger.createRedisLedger, testing.startProviderApiFake, machines.createSessionSupervisor,
    ].map((f) => typeof f),
    provider: released.provider, usedTokens: released.usedTokens, used, refused,
    ledger: outcomes.map((o) => o.code ?? o.status), failure: failure.kind, providers: machines.PROVIDER_IDS,
  };
}`;
const EXPECTED = {
  functions: Array(6).fill('function'),
  provider: 'claude',
  usedTokens: 400,
  used: 400,
  refused: true,
  ledger: ['reserved', 'concurrency-limit'],
  failure: 'quota',
  providers: ['claude', 'openai'],
};
const REQUIRES = `{ av: require('agentvisor'), ${SUBPATHS.map((s) => `${s}: require('agentvisor/${s}')`).join(', ')} }`;

const ESM_CHECK = `import { createOrchestrator, runAgentTask, AgentvisorError } from 'agentvisor';
import * as av from 'agentvisor';
${SUBPATHS.map((s) => `import * as ${s} from 'agentvisor/${s}';`).join('\n')}
${SCENARIO}
const named = [createOrchestrator, runAgentTask, AgentvisorError].map((f) => typeof f);
const deep = await import('agentvisor/dist/src/index.js').then(() => 'allowed', (error) => error.code);
console.log(JSON.stringify({ named, deep, ...(await scenario({ av, ${SUBPATHS.join(', ')} }, process.argv[2])) }));
`;
const CJS_SCENARIO = `${SCENARIO}\nmodule.exports = (home) => scenario(${REQUIRES}, home);\n`;
const CJS_CHECK = `const { createOrchestrator, runAgentTask, AgentvisorError } = require('agentvisor');
const run = require('./scenario.js');
const named = [createOrchestrator, runAgentTask, AgentvisorError].map((f) => typeof f);
const heavy = () => Object.keys(require.cache).filter((file) => ${HEAVY}.test(file));
run(process.argv[2]).then((result) => console.log(JSON.stringify({ named, ...result, heavy: heavy() })));
`;
const JEST_TEST = `const run = require('./scenario.js');
test('agentvisor and its subpaths load and work under Jest', async () => {
  expect(await run(require('node:path').join(__dirname, 'home'))).toEqual(${JSON.stringify(EXPECTED)});
});
`;
const TYPED_USE = `import { createOrchestrator, isAgentvisorError, runAgentTask } from 'agentvisor';
import type { AgentTaskResult, LedgerOption, OrchestratorOptions } from 'agentvisor';
import { createMemoryLedger, type QuotaLedger } from 'agentvisor/ledger';
import { classifyHttpFailure, type ProviderFailure } from 'agentvisor/failures';
import { createManualClock, type ManualClock } from 'agentvisor/testing';
import { coordinatorMachine, type ProviderId } from 'agentvisor/machines';
const ledger: LedgerOption = {
  instance: createMemoryLedger({ limits: { claude: { dailyLimit: 1, maxConcurrent: 1 }, openai: { dailyLimit: 1, maxConcurrent: 1 } } }) satisfies QuotaLedger,
};
const clock: ManualClock = createManualClock(0);
const options: OrchestratorOptions = { ledger, clock };
const failure: ProviderFailure = classifyHttpFailure({ provider: 'claude' satisfies ProviderId, status: 529, now: 0 });
export const used = [createOrchestrator(options), isAgentvisorError(failure), runAgentTask, coordinatorMachine.id, failure.kind] as const;
export type Result = AgentTaskResult;
`;
// node10 (classic `module: commonjs` projects) finds the subpaths through typesVersions; pino's
// declarations need esModuleInterop there, as `tsc --init` sets it.
const tsconfig = (resolution: 'nodenext' | 'node10', files: readonly string[]) => {
  const module = resolution === 'node10' ? { module: 'commonjs', esModuleInterop: true } : { module: 'nodenext' };
  return JSON.stringify({
    compilerOptions: {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      target: 'es2022',
      ...module,
      moduleResolution: resolution,
      types: ['node'],
    },
    files,
  });
};

describe('the packed agentvisor tarball', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let files: string[];
  let esm: string;
  let cjs: string;
  let tsc: string;

  beforeAll(async () => {
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-package-')));
    // HOME is the test file's hermetic home; the npm cache is the real user's. No npm_* variable of
    // a surrounding `npm test` may reach the inner npm (npm_config_local_prefix would redirect it).
    const cacheEnv = { PATH: process.env.PATH ?? '', HOME: os.userInfo().homedir };
    const cache = (
      process.env.npm_config_cache ?? (await ok('npm', ['config', 'get', 'cache'], work, cacheEnv))
    ).trim();
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? work,
      npm_config_cache: cache,
      npm_config_logs_dir: path.join(work, 'npm-logs'),
      npm_config_update_notifier: 'false',
      NO_COLOR: '1',
    };

    const stage = path.join(work, 'stage');
    for (const entry of new Set([
      'package.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src',
      'machines',
      'scripts',
      ...PKG.files.filter((f) => !f.startsWith('dist')),
    ])) {
      if (fs.existsSync(path.join(ROOT, entry)))
        fs.cpSync(path.join(ROOT, entry), path.join(stage, entry), { recursive: true });
    }
    for (const always of ['README.md', 'LICENSE']) fs.cpSync(path.join(ROOT, always), path.join(stage, always));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
    await ok('npm', ['pack', '--pack-destination', work], stage, env);
    const tarball = path.join(
      work,
      fs.readdirSync(work).find((f) => f.endsWith('.tgz'))!,
    );
    files = (await ok('tar', ['-tzf', tarball], work, env)).split('\n').filter(Boolean);

    esm = path.join(work, 'esm');
    cjs = path.join(work, 'cjs');
    const project = async (dir: string, type: object, extra: readonly string[], sources: Record<string, string>) => {
      fs.mkdirSync(path.join(dir, 'home'), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify({ name: `consumer-${path.basename(dir)}`, version: '1.0.0', private: true, ...type }),
      );
      for (const [name, text] of Object.entries(sources)) fs.writeFileSync(path.join(dir, name), text);
      const install = ['install', '--no-audit', '--no-fund', tarball, ...extra];
      const offline = await run('npm', [...install, '--offline'], dir, env);
      if (offline.status !== 0) await ok('npm', [...install, '--prefer-offline'], dir, env);
    };
    await Promise.all([
      project(
        esm,
        { type: 'module' },
        [`typescript@${versionOf('typescript')}`, `@types/node@${versionOf('@types/node')}`],
        {
          'check.js': ESM_CHECK,
          'use.ts': TYPED_USE,
          'tsconfig.json': tsconfig('nodenext', ['use.ts']),
          // A positive control for the listing below: a file that does name ioredis.
          'control.ts': "import type { Redis } from 'ioredis';\nexport type Client = Redis;\n",
          'tsconfig.control.json': tsconfig('nodenext', ['control.ts']),
        },
      ),
      project(cjs, {}, [`@types/node@${versionOf('@types/node')}`], {
        'scenario.js': CJS_SCENARIO,
        'check.js': CJS_CHECK,
        'consumer.test.js': JEST_TEST,
        'use.ts': TYPED_USE,
        'tsconfig.json': tsconfig('nodenext', ['use.ts']),
        'tsconfig.node10.json': tsconfig('node10', ['use.ts']),
      }),
    ]);
    tsc = path.join(esm, 'node_modules', 'typescript', 'bin', 'tsc');
  });

  afterAll(() => {
    if (work !== undefined) fs.rmSync(work, { recursive: true, force: true });
  });

  it('should ship the build, the bin, LICENSE and README, without sources, tests or source maps', async () => {
    for (const file of [
      'package.json',
      'LICENSE',
      'README.md',
      'bin/agentvisor.js',
      'dist/cli.cjs',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/machines/index.js',
      ...SUBPATHS.filter((s) => s !== 'machines').map((s) => `dist/src/entries/${s}.js`),
    ]) {
      expect(files).toContain(`package/${file}`);
    }
    expect(
      files.filter(
        (f) =>
          f.endsWith('.map') ||
          (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
          /^package\/(src|test|machines)\//.test(f),
      ),
    ).toEqual([]);
    const installed = path.join(cjs, 'node_modules', 'agentvisor');
    const js = files
      .filter((f) => f.endsWith('.js'))
      .map((f) => fs.readFileSync(path.join(installed, f.slice('package/'.length)), 'utf8'));
    expect(js.filter((text) => text.includes('sourceMappingURL'))).toEqual([]);
    // `/** @internal */` members stay out of the declarations (stripInternal).
    expect(fs.readFileSync(path.join(installed, 'dist/src/orchestrator/managedAgent.d.ts'), 'utf8')).not.toMatch(
      /settleSpawnWith|onReleased/,
    );
  });

  it('should import the root and every subpath by name from an ESM project, run a session, and refuse deep imports', async () => {
    const out = await ok('node', ['check.js', path.join(esm, 'home')], esm, env);
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({
      named: ['function', 'function', 'function'],
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      ...EXPECTED,
    });
  });

  it('should require the same from a CommonJS project without loading ioredis, ws, prom-client or the inspector', async () => {
    const out = await ok('node', ['check.js', path.join(cjs, 'home')], cjs, env);
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({
      named: ['function', 'function', 'function'],
      ...EXPECTED,
      heavy: [],
    });
  });

  it('should load under Jest with no Jest config (no ESM-only package on the require path)', async () => {
    const jest = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
    const ran = await run(
      'node',
      [jest, '--rootDir', cjs, '--ci', '--no-watchman', '--cacheDirectory', path.join(work, 'jest-cache')],
      cjs,
      env,
    );
    expect({ status: ran.status, output: ran.stderr }).toEqual({
      status: 0,
      output: expect.stringContaining('Tests:       1 passed, 1 total'),
    });
  });

  it('should type-check a strict consumer (skipLibCheck off) of the root and every subpath, as ESM, CommonJS and node10', async () => {
    for (const [dir, project] of [
      [esm, 'tsconfig.json'],
      [cjs, 'tsconfig.json'],
      [cjs, 'tsconfig.node10.json'],
    ] as const) {
      const ran = await run('node', [tsc, '-p', project], dir, env);
      expect({ project: `${path.basename(dir)}/${project}`, status: ran.status, errors: ran.stdout }).toEqual({
        project: `${path.basename(dir)}/${project}`,
        status: 0,
        errors: '',
      });
    }
  });

  it('should keep ioredis, ws, prom-client and @statelyai/inspect out of the declarations of the root and every subpath', async () => {
    const listed = async (project: string) =>
      (await ok('node', [tsc, '-p', project, '--listFilesOnly'], esm, env)).split('\n').filter(Boolean);
    const consumer = await listed('tsconfig.json');
    for (const entry of [
      'src/index',
      ...SUBPATHS.map((s) => (s === 'machines' ? 'machines/index' : `src/entries/${s}`)),
    ]) {
      expect(consumer).toContain(path.join(esm, 'node_modules', 'agentvisor', 'dist', `${entry}.d.ts`));
    }
    expect(consumer.filter((file) => HEAVY.test(file))).toEqual([]);
    expect((await listed('tsconfig.control.json')).filter((file) => HEAVY.test(file))).toContainEqual(
      expect.stringMatching(/ioredis/),
    );
  });

  it('should run the bin from the consumer project: --version and a short demo', async () => {
    expect(await ok('npx', ['--offline', 'agentvisor', '--version'], cjs, env)).toBe(`${PKG.version}\n`);
    const demo = await ok(
      'npx',
      ['--offline', 'agentvisor', 'demo', '--agents', '3', '--throttle-agents', '0'],
      esm,
      env,
    );
    expect(demo).toContain('settled: every allocation returned, usage counted once');
  });
});

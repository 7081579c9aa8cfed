/**
 * `agentvisor test` against the loopback provider fakes, through the CLI run as a separate process
 * (from source, like credentials.int.test.ts): the credentials agents would get, GET /v1/models at
 * ANTHROPIC_BASE_URL / OPENAI_BASE_URL with each provider's headers, a verdict per provider (ok,
 * auth failed, rate-limited with its headers, timeout, unreachable), the exit code, and no secret
 * in any output. Also `status` showing AGENTVISOR_DISABLE_PROVIDERS.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fakeStep, startProviderApiFake } from '../../src';
import type { ProviderApiFake } from '../../src';
import type { TestResult } from '../../src/cli/testCommand';
import { expectNoSecrets, lastJson, startCli } from '../helpers/batchCli';
import type { CliEnd } from '../helpers/batchCli';

const root = path.join(__dirname, '..', '..');

const CLAUDE_KEY = `sk-ant-api03-${'CliTestClaudeKey'}${'c'.repeat(60)}Tq1z`;
const OPENAI_KEY = `sk-proj-${'CliTestOpenAIKey'}${'o'.repeat(40)}Tq2y`;
const WRONG_KEY = `sk-ant-api03-${'CliTestWrongKey'}${'w'.repeat(60)}Wr0g`;
const SECRETS = [CLAUDE_KEY, OPENAI_KEY, WRONG_KEY];

let dir: string;
let fake: ProviderApiFake;
let outputs: string[];

beforeEach(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-')));
  fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY } });
  outputs = [];
});

afterEach(async () => {
  expectNoSecrets(outputs, SECRETS);
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI without blocking this process (the fake answers from here). */
function cli(args: string[], env: Record<string, string>): Promise<CliEnd> {
  return startCli(args, {
    cwd: root,
    home: dir,
    outputs,
    env: { CODEX_HOME: path.join(dir, '.codex'), CLAUDE_CONFIG_DIR: path.join(dir, '.claude'), ...env },
  }).done;
}

const fakeEnv = (): Record<string, string> => ({
  ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
  OPENAI_BASE_URL: fake.openaiBaseUrl,
});

describe('agentvisor test', () => {
  it('should check both providers with the keys agents get and report ok, latency and the remaining limits', async () => {
    fake.enqueueModels(
      'claude',
      fakeStep.reply({
        headers: {
          'anthropic-ratelimit-requests-limit': '50',
          'anthropic-ratelimit-requests-remaining': '49',
          'anthropic-ratelimit-tokens-limit': '40000',
          'anthropic-ratelimit-tokens-remaining': '39000',
        },
      }),
    );
    fake.enqueueModels(
      'openai',
      fakeStep.reply({
        headers: {
          'x-ratelimit-limit-requests': '500',
          'x-ratelimit-remaining-requests': '499',
          'x-ratelimit-limit-tokens': '30000',
          'x-ratelimit-remaining-tokens': '29990',
        },
      }),
    );
    const { status, stdout } = await cli(['--json', 'test'], {
      ...fakeEnv(),
      ANTHROPIC_API_KEY: CLAUDE_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
    });
    expect(status).toBe(0);
    const result = lastJson<TestResult>(stdout);
    expect(result.ok).toBe(true);
    expect(
      result.results.map((r) => [
        r.provider,
        r.verdict,
        r.passed,
        r.status,
        r.remaining,
        r.limits,
        r.url,
        r.credential?.source,
        r.credential?.hint,
      ]),
    ).toEqual([
      [
        'claude',
        'ok',
        true,
        200,
        { requests: 49, tokens: 39_000 },
        { requests: 50, tokens: 40_000 },
        fake.anthropicBaseUrl,
        'env:ANTHROPIC_API_KEY',
        'sk-ant-…Tq1z',
      ],
      [
        'openai',
        'ok',
        true,
        200,
        { requests: 499, tokens: 29_990 },
        { requests: 500, tokens: 30_000 },
        fake.openaiBaseUrl,
        'env:OPENAI_API_KEY',
        'sk-…Tq2y',
      ],
    ]);
    for (const r of result.results) expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    // Real endpoints and headers: Anthropic's key as x-api-key with anthropic-version, OpenAI's as a bearer.
    expect(fake.requests.map((r) => [r.method, r.path, r.route, r.auth.scheme]).sort()).toEqual([
      ['GET', '/v1/models', 'anthropic.models', 'x-api-key'],
      ['GET', '/v1/models', 'openai.models', 'bearer'],
    ]);
    expect(fake.requests.find((r) => r.route === 'anthropic.models')?.headers['anthropic-version']).toBe('2023-06-01');

    const human = await cli(['test', '--provider', 'claude'], { ...fakeEnv(), ANTHROPIC_API_KEY: CLAUDE_KEY });
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/claude\s+ok\s+200\s+\d+ ms\s+env:ANTHROPIC_API_KEY \(sk-ant-…Tq1z\)/);
    expect(human.stdout).toContain('Every configured provider answered.');
    expect(human.stdout).not.toMatch(/^openai/m);
  });

  it('should exit 1 with auth failed for a refused key (401) and rate-limited with the 429 headers', async () => {
    fake.enqueueModels('openai', fakeStep.error('rateLimited', { retryAfterSeconds: 7 }));
    const { status, stdout } = await cli(['--json', 'test'], {
      ...fakeEnv(),
      ANTHROPIC_API_KEY: WRONG_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
    });
    expect(status).toBe(1);
    const result = lastJson<TestResult>(stdout);
    expect(result.ok).toBe(false);
    const [claude, openai] = result.results;
    expect(claude).toMatchObject({
      provider: 'claude',
      verdict: 'auth-failed',
      passed: false,
      status: 401,
      message: 'invalid x-api-key',
      credential: { hint: 'sk-ant-…Wr0g' },
    });
    expect(openai).toMatchObject({
      provider: 'openai',
      verdict: 'rate-limited',
      passed: false,
      status: 429,
      retryAfterMs: 7_000,
      remaining: { requests: 0, tokens: 0 },
      limits: { requests: 500, tokens: 30_000 },
    });

    fake.enqueueModels('openai', fakeStep.error('rateLimited', { retryAfterSeconds: 7 }));
    const human = await cli(['test'], { ...fakeEnv(), ANTHROPIC_API_KEY: WRONG_KEY, OPENAI_API_KEY: OPENAI_KEY });
    expect(human.status).toBe(1);
    expect(human.stdout).toMatch(/claude\s+auth failed\s+401/);
    expect(human.stdout).toMatch(
      /openai\s+rate-limited\s+429\s+\d+ ms\s+env:OPENAI_API_KEY \(sk-…Tq2y\)\s+openai-api-key\s+0 \/ 500\s+0 \/ 30,000/,
    );
    expect(human.stdout).toContain('openai: rate-limited: Rate limit reached for requests on tokens per min (TPM)');
    expect(human.stdout).toContain('(retry after 7 s)');
    expect(human.stdout).toContain('A configured provider did not answer ok.');
  });

  it('should give up after --timeout with verdict timeout, and say unreachable when nothing listens', async () => {
    fake.enqueueModels('claude', fakeStep.reply({ delayMs: 5_000 }));
    const slow = await cli(['--json', 'test', '--provider', 'claude', '--timeout', '300'], {
      ...fakeEnv(),
      ANTHROPIC_API_KEY: CLAUDE_KEY,
    });
    expect(slow.status).toBe(1);
    const timedOut = lastJson<TestResult>(slow.stdout).results;
    expect(timedOut).toHaveLength(1);
    expect(timedOut[0]).toMatchObject({
      provider: 'claude',
      verdict: 'timeout',
      status: null,
      message: 'Claude (Anthropic) API did not answer within 300 ms',
    });
    expect(timedOut[0]!.latencyMs).toBeGreaterThanOrEqual(290);

    const closed = await startProviderApiFake();
    const closedUrl = closed.openaiBaseUrl;
    await closed.close();
    const down = await cli(['--json', 'test', '--provider', 'openai'], {
      OPENAI_BASE_URL: closedUrl,
      OPENAI_API_KEY: OPENAI_KEY,
    });
    expect(down.status).toBe(1);
    expect(lastJson<TestResult>(down.stdout).results[0]).toMatchObject({
      provider: 'openai',
      verdict: 'unreachable',
      url: closedUrl,
    });
    expect(lastJson<TestResult>(down.stdout).results[0]!.message).toContain('ECONNREFUSED');
  });

  it('should pass with a provider that has no credentials when none was named, and fail when it was named', async () => {
    const both = await cli(['--json', 'test'], { ...fakeEnv(), ANTHROPIC_API_KEY: CLAUDE_KEY });
    expect(both.status).toBe(0);
    expect(lastJson<TestResult>(both.stdout).results.map((r) => [r.provider, r.verdict, r.passed])).toEqual([
      ['claude', 'ok', true],
      ['openai', 'not-configured', true],
    ]);
    const named = await cli(['--json', 'test', '--provider', 'openai'], {
      ...fakeEnv(),
      ANTHROPIC_API_KEY: CLAUDE_KEY,
    });
    expect(named.status).toBe(1);
    expect(lastJson<TestResult>(named.stdout).results).toMatchObject([
      {
        provider: 'openai',
        verdict: 'not-configured',
        passed: false,
        message: 'no OpenAI credentials: run `agentvisor login openai --api-key -` or set OPENAI_API_KEY',
      },
    ]);
    const none = await cli(['test'], fakeEnv());
    expect(none.status).toBe(1);
    expect(none.stdout).toContain('No provider has credentials to check.');
    const bad = await cli(['test', '--provider', 'gemini'], fakeEnv());
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('expected claude, openai, all');
  });

  it('should show AGENTVISOR_DISABLE_PROVIDERS in status and in the test result, and still check the provider', async () => {
    const env = {
      ...fakeEnv(),
      ANTHROPIC_API_KEY: CLAUDE_KEY,
      OPENAI_API_KEY: OPENAI_KEY,
      AGENTVISOR_DISABLE_PROVIDERS: 'openai',
    };
    const status = await cli(['status'], env);
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/openai\s+off \(AGENTVISOR_DISABLE_PROVIDERS\)\s+env:OPENAI_API_KEY/);
    expect(status.stdout).toMatch(/claude\s+on\s+env:ANTHROPIC_API_KEY/);
    expect(status.stdout).toContain('Sessions start on: claude (priority');
    const tested = await cli(['--json', 'test'], env);
    expect(tested.status).toBe(0);
    expect(lastJson<TestResult>(tested.stdout).results.map((r) => [r.provider, r.verdict, r.switch])).toEqual([
      ['claude', 'ok', { enabled: true, disabledBy: null, rolloutPercent: 100 }],
      ['openai', 'ok', { enabled: false, disabledBy: 'env', rolloutPercent: 100 }],
    ]);
  });
});

/**
 * The real Claude Code and Codex CLIs (devDependencies) against the loopback provider API fake:
 * what they send (paths, auth headers) and what they print, for success and for each failure the
 * adapters must classify. Every run has its own temp HOME / CODEX_HOME / CLAUDE_CONFIG_DIR and an
 * environment with nothing inherited. docs/sandbox.md records the same observations.
 */
import { runProcess } from '../../src/agents';
import type { ProcessResult } from '../../src/agents';
import { fakeStep, startProviderApiFake } from '../../src/sandbox';
import type { FakeRequestRecord, FakeStep } from '../../src/sandbox';
import {
  agentBin,
  agentEnv,
  codexProviderArgs,
  makeCliHome,
  mapWithConcurrency,
  writeChatGptLogin,
} from '../helpers/cliHome';

// Test credentials only: well-formed, never real.
const CLAUDE_KEY = `sk-ant-api03-${'RealCliTestKey'}${'c'.repeat(60)}Kc1a`;
const OAUTH_TOKEN = `sk-ant-oat01-${'RealCliTestToken'}${'t'.repeat(50)}Ot2b`;
const OPENAI_KEY = `sk-proj-${'RealCliTestKey'}${'o'.repeat(40)}Ko3c`;
const WRONG_CLAUDE_KEY = `sk-ant-api03-${'WrongCliTestKey'}${'w'.repeat(60)}Wk4d`;
const WRONG_OPENAI_KEY = `sk-proj-${'WrongCliTestKey'}${'w'.repeat(40)}Wk5e`;
const ACCOUNT_ID = 'acct-fake-5678';

const RUN_TIMEOUT_MS = 60_000;
const CONCURRENCY = 2;
const USAGE = { inputTokens: 17, outputTokens: 4, cachedInputTokens: 3, reasoningTokens: 2 };

type Credential = 'api-key' | 'wrong-api-key' | 'oauth' | 'chatgpt';

interface CliCase {
  readonly name: string;
  readonly cli: 'claude' | 'codex';
  readonly credential: Credential;
  /** The provider's standing script for the run (every model request gets it). */
  readonly step: FakeStep;
}

interface CliRun {
  readonly result: ProcessResult;
  readonly requests: readonly FakeRequestRecord[];
  readonly unknown: readonly FakeRequestRecord[];
  readonly fakeUrl: string;
  /** Every credential the run could have printed. */
  readonly secrets: readonly string[];
}

const ok = fakeStep.reply({ text: 'pong', usage: USAGE });
const CASES: readonly CliCase[] = [
  { name: 'claude success', cli: 'claude', credential: 'api-key', step: ok },
  { name: 'claude wrong key', cli: 'claude', credential: 'wrong-api-key', step: ok },
  { name: 'claude 403', cli: 'claude', credential: 'api-key', step: fakeStep.error('forbidden') },
  {
    name: 'claude 429',
    cli: 'claude',
    credential: 'api-key',
    step: fakeStep.error('rateLimited', { retryAfterSeconds: 30 }),
  },
  { name: 'claude 529', cli: 'claude', credential: 'api-key', step: fakeStep.error('overloaded') },
  { name: 'claude 500', cli: 'claude', credential: 'api-key', step: fakeStep.error('serverError') },
  { name: 'claude credit', cli: 'claude', credential: 'api-key', step: fakeStep.error('insufficientQuota') },
  { name: 'claude cut', cli: 'claude', credential: 'api-key', step: fakeStep.cut() },
  { name: 'claude truncated', cli: 'claude', credential: 'api-key', step: fakeStep.truncate() },
  {
    name: 'claude overloaded in stream',
    cli: 'claude',
    credential: 'api-key',
    step: fakeStep.streamError('overloaded'),
  },
  { name: 'claude oauth success', cli: 'claude', credential: 'oauth', step: ok },
  { name: 'claude oauth 401', cli: 'claude', credential: 'oauth', step: fakeStep.error('unauthorized') },
  {
    name: 'claude oauth 429',
    cli: 'claude',
    credential: 'oauth',
    step: fakeStep.error('rateLimited', { retryAfterSeconds: 3600 }),
  },
  { name: 'codex success', cli: 'codex', credential: 'api-key', step: ok },
  { name: 'codex wrong key', cli: 'codex', credential: 'wrong-api-key', step: ok },
  { name: 'codex 429', cli: 'codex', credential: 'api-key', step: fakeStep.error('rateLimited') },
  { name: 'codex quota', cli: 'codex', credential: 'api-key', step: fakeStep.error('insufficientQuota') },
  { name: 'codex 500', cli: 'codex', credential: 'api-key', step: fakeStep.error('serverError') },
  { name: 'codex 503', cli: 'codex', credential: 'api-key', step: fakeStep.error('unavailable') },
  { name: 'codex cut', cli: 'codex', credential: 'api-key', step: fakeStep.cut() },
  { name: 'codex truncated', cli: 'codex', credential: 'api-key', step: fakeStep.truncate() },
  {
    name: 'codex rate limit in stream',
    cli: 'codex',
    credential: 'api-key',
    step: fakeStep.streamError('rateLimited'),
  },
  { name: 'codex chatgpt login', cli: 'codex', credential: 'chatgpt', step: ok },
];

function claudeCredentialEnv(credential: Credential): Record<string, string> {
  if (credential === 'oauth') return { CLAUDE_CODE_OAUTH_TOKEN: OAUTH_TOKEN };
  return { ANTHROPIC_API_KEY: credential === 'wrong-api-key' ? WRONG_CLAUDE_KEY : CLAUDE_KEY };
}

async function runCase(spec: CliCase): Promise<CliRun> {
  const home = makeCliHome(`real-${spec.cli}-`);
  const login = spec.credential === 'chatgpt' ? writeChatGptLogin(home, ACCOUNT_ID) : undefined;
  const fake = await startProviderApiFake({
    keys: {
      claude: [CLAUDE_KEY, OAUTH_TOKEN],
      openai: [OPENAI_KEY, ...(login === undefined ? [] : [login.accessToken])],
    },
  });
  try {
    const secrets = [
      CLAUDE_KEY,
      OAUTH_TOKEN,
      OPENAI_KEY,
      WRONG_CLAUDE_KEY,
      WRONG_OPENAI_KEY,
      ...(login === undefined ? [] : [login.accessToken, login.refreshToken]),
    ];
    let command: string;
    let args: string[];
    let env: Record<string, string>;
    if (spec.cli === 'claude') {
      fake.setScript('claude', spec.step);
      command = agentBin('claude');
      args = ['-p', 'say pong', '--output-format', 'json'];
      env = agentEnv(home, {
        ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
        CLAUDE_CODE_MAX_RETRIES: '0',
        ...claudeCredentialEnv(spec.credential),
      });
    } else {
      fake.setScript('openai', spec.step);
      command = agentBin('codex');
      if (login !== undefined) {
        // apps=false: no MCP connection to chatgpt.com, so the run stays on the loopback fake.
        args = [
          'exec',
          '--skip-git-repo-check',
          '--json',
          '-c',
          'features.apps=false',
          ...codexProviderArgs(fake.openaiBaseUrl, { requiresOpenAiAuth: true }),
          'say pong',
        ];
        env = agentEnv(home, {});
      } else {
        args = [
          'exec',
          '--skip-git-repo-check',
          '--json',
          ...codexProviderArgs(fake.openaiBaseUrl, { envKey: 'OPENAI_API_KEY' }),
          'say pong',
        ];
        env = agentEnv(home, { OPENAI_API_KEY: spec.credential === 'wrong-api-key' ? WRONG_OPENAI_KEY : OPENAI_KEY });
      }
    }
    const result = await runProcess({
      command,
      args,
      env,
      cwd: home.workdir,
      stdin: 'ignore',
      timeoutMs: RUN_TIMEOUT_MS,
      maxOutputBytes: 4 << 20,
      killGraceMs: 2000,
    });
    return { result, requests: [...fake.requests], unknown: fake.unknownRequests(), fakeUrl: fake.url, secrets };
  } finally {
    home.cleanup();
    await fake.close();
  }
}

const runs = new Map<string, CliRun>();

beforeAll(async () => {
  // Resolve both binaries first: a missing CLI fails every test here with this message.
  agentBin('claude');
  agentBin('codex');
  const results = await mapWithConcurrency(CASES, CONCURRENCY, runCase);
  CASES.forEach((spec, index) => runs.set(spec.name, results[index] as CliRun));
  if (process.env.AGENTVISOR_CLI_TIMINGS === '1') {
    process.stderr.write(
      `${CASES.map((spec) => `${spec.name}: ${runs.get(spec.name)?.result.durationMs} ms`).join('\n')}\n`,
    );
  }
}, 240_000);

function run(name: string): CliRun {
  const found = runs.get(name);
  if (found === undefined) throw new Error(`no run named ${name}`);
  return found;
}

/** Claude Code's `--output-format json` result: one JSON object on stdout. */
function claudeResult(name: string): Record<string, unknown> {
  const { result } = run(name);
  expect(result.spawnError).toBeUndefined();
  expect(result.timedOut).toBe(false);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** Codex `--json`: one JSON object per line. */
function codexLines(name: string): Record<string, unknown>[] {
  const { result } = run(name);
  expect(result.spawnError).toBeUndefined();
  expect(result.timedOut).toBe(false);
  return result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function modelRoutes(name: string): string[] {
  return run(name)
    .requests.filter((r) => r.route !== 'probe')
    .map((r) => `${r.method} ${r.path}`);
}

/** Codex's failure output: `error` then `turn.failed`, both with the same message. */
function expectCodexFailure(name: string, message: string | RegExp): void {
  const lines = codexLines(name);
  expect(lines.map((l) => l.type)).toEqual(['thread.started', 'turn.started', 'error', 'turn.failed']);
  const text = lines[2]?.message as string;
  if (typeof message === 'string') expect(text).toBe(message);
  else expect(text).toMatch(message);
  expect(lines[3]).toEqual({ type: 'turn.failed', error: { message: text } });
  expect(run(name).result.exitCode).toBe(1);
}

describe('real agent CLIs against the provider API fake', () => {
  it('should have run every case to completion within its timeout', () => {
    for (const spec of CASES) {
      const { result } = run(spec.name);
      expect({
        name: spec.name,
        spawnError: result.spawnError,
        timedOut: result.timedOut,
        truncated: result.truncated,
      }).toEqual({ name: spec.name, spawnError: undefined, timedOut: false, truncated: false });
      expect(run(spec.name).unknown.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    }
  });

  // The secret scan: no run printed a credential, whole or in part, on stdout or stderr.
  it('should print no credential on stdout or stderr', () => {
    for (const { result, secrets } of runs.values()) {
      for (const secret of secrets) {
        expect(result.stdout).not.toContain(secret.slice(12, 40));
        expect(result.stderr).not.toContain(secret.slice(12, 40));
      }
    }
  });

  describe('claude -p --output-format json', () => {
    it("should succeed with the fake's text and usage, sending the key as x-api-key to POST /v1/messages?beta=true (stream)", () => {
      const out = claudeResult('claude success');
      expect(run('claude success').result.exitCode).toBe(0);
      expect(run('claude success').result.stderr).toBe('');
      expect(out).toMatchObject({
        type: 'result',
        subtype: 'success',
        is_error: false,
        api_error_status: null,
        result: 'pong',
        num_turns: 1,
        stop_reason: 'end_turn',
      });
      expect(out.usage).toMatchObject({
        input_tokens: 17,
        output_tokens: 4,
        cache_read_input_tokens: 3,
        cache_creation_input_tokens: 0,
      });
      const modelUsage = Object.values(out.modelUsage as Record<string, Record<string, number>>);
      expect(modelUsage).toHaveLength(1);
      expect(modelUsage[0]).toMatchObject({ inputTokens: 17, outputTokens: 4, cacheReadInputTokens: 3 });
      expect(out.total_cost_usd).toBeGreaterThan(0);

      const { requests } = run('claude success');
      expect(requests.map((r) => `${r.method} ${r.path} ${r.route}`)).toEqual([
        'HEAD / probe',
        'POST /v1/messages?beta=true anthropic.messages',
      ]);
      const message = requests[1]!;
      expect(message).toMatchObject({
        stream: true,
        auth: { scheme: 'x-api-key' },
        answer: { status: 200, step: 'reply' },
      });
      expect(message.auth.credential?.reveal()).toBe(CLAUDE_KEY);
      expect(message.headers['anthropic-version']).toBe('2023-06-01');
      expect(message.headers['x-app']).toBe('cli');
      expect(message.headers['user-agent']).toMatch(/^claude-cli\/\d+\.\d+\.\d+ \(external, sdk-cli\)$/);
      expect(message.headers['anthropic-beta']?.split(',')).toContain('claude-code-20250219');
      expect(message.headers['anthropic-beta']?.split(',')).not.toContain('oauth-2025-04-20');
    });

    it('should report a refused key as api_error_status 401', () => {
      const out = claudeResult('claude wrong key');
      expect(run('claude wrong key').result.exitCode).toBe(1);
      expect(out).toMatchObject({
        type: 'result',
        is_error: true,
        api_error_status: 401,
        result: 'Invalid API key · Fix external API key',
      });
      expect(out.usage).toMatchObject({ input_tokens: 0, output_tokens: 0 });
      expect(run('claude wrong key').requests.at(-1)?.answer).toEqual({ status: 401, step: 'auth' });
    });

    it.each([
      [
        'claude 403',
        403,
        'Failed to authenticate. API Error: 403 Your API key does not have permission to use the specified resource.',
      ],
      [
        'claude 429',
        429,
        /^API Error: Request rejected \(429\) · Number of request tokens has exceeded your per-minute rate limit/,
      ],
      ['claude 529', 529, /^API Error: 529 Overloaded\. This is a server-side issue, usually temporary/],
      ['claude 500', 500, /^API Error: 500 Internal server error\. This is a server-side issue/],
      ['claude credit', 400, 'Credit balance is too low'],
    ] as const)('should report %s as is_error with api_error_status %d', (name, status, message) => {
      const out = claudeResult(name);
      expect(run(name).result.exitCode).toBe(1);
      expect(out).toMatchObject({ type: 'result', is_error: true, api_error_status: status, total_cost_usd: 0 });
      if (typeof message === 'string') expect(out.result).toBe(message);
      else expect(out.result).toMatch(message);
      // CLAUDE_CODE_MAX_RETRIES=0: one request, no retry.
      expect(modelRoutes(name)).toEqual(['POST /v1/messages?beta=true']);
    });

    it('should report a cut connection without a status', () => {
      const out = claudeResult('claude cut');
      expect(out).toMatchObject({
        is_error: true,
        api_error_status: null,
        result: 'API Error: Unable to connect to API (ECONNRESET)',
      });
    });

    it('should retry a truncated stream once without streaming, and fail when that breaks too', () => {
      const out = claudeResult('claude truncated');
      expect(out).toMatchObject({ is_error: true, api_error_status: null, result: 'API Error: Failed to parse JSON' });
      expect(
        run('claude truncated')
          .requests.filter((r) => r.route === 'anthropic.messages')
          .map((r) => r.stream),
      ).toEqual([true, false]);
    });

    it('should retry an overloaded error inside a stream despite CLAUDE_CODE_MAX_RETRIES=0, then once without streaming', () => {
      const out = claudeResult('claude overloaded in stream');
      expect(out).toMatchObject({ is_error: true, api_error_status: null });
      expect(out.result).toMatch(/^API Error: Repeated 529 Overloaded errors\. The API is at capacity/);
      expect(
        run('claude overloaded in stream')
          .requests.filter((r) => r.route === 'anthropic.messages')
          .map((r) => r.stream),
      ).toEqual([true, true, true, false]);
    });

    it('should send CLAUDE_CODE_OAUTH_TOKEN as a Bearer with the oauth beta, and call nothing else', () => {
      const out = claudeResult('claude oauth success');
      expect(out).toMatchObject({ is_error: false, result: 'pong' });
      expect(out.usage).toMatchObject({ input_tokens: 17, output_tokens: 4 });
      const { requests } = run('claude oauth success');
      expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual(['HEAD /', 'POST /v1/messages?beta=true']);
      const message = requests[1]!;
      expect(message.auth.scheme).toBe('bearer');
      expect(message.auth.credential?.reveal()).toBe(OAUTH_TOKEN);
      expect(message.headers['anthropic-beta']?.split(',')).toEqual(
        expect.arrayContaining(['claude-code-20250219', 'oauth-2025-04-20']),
      );
    });

    it('should report an OAuth 401 and a subscription limit (unified rate-limit headers) in its own words', () => {
      expect(claudeResult('claude oauth 401')).toMatchObject({
        is_error: true,
        api_error_status: 401,
        result: 'Failed to authenticate. API Error: 401 Invalid bearer token',
      });
      const limited = claudeResult('claude oauth 429');
      expect(limited).toMatchObject({ is_error: true, api_error_status: 429 });
      expect(limited.result).toMatch(/^You've hit your session limit · resets \d{1,2}(:\d{2})?(am|pm) \(UTC\)$/);
    });
  });

  describe('codex exec --json', () => {
    it("should succeed with the fake's text and usage, sending the key as a Bearer to POST /v1/responses (stream)", () => {
      const lines = codexLines('codex success');
      expect(run('codex success').result.exitCode).toBe(0);
      expect(run('codex success').result.stderr).toContain('Reading additional input from stdin...');
      expect(lines).toEqual([
        { type: 'thread.started', thread_id: expect.any(String) },
        { type: 'turn.started' },
        { type: 'item.completed', item: { id: 'item_0', type: 'agent_message', text: 'pong' } },
        {
          type: 'turn.completed',
          usage: {
            input_tokens: 17,
            cached_input_tokens: 3,
            cache_write_input_tokens: 0,
            output_tokens: 4,
            reasoning_output_tokens: 2,
          },
        },
      ]);
      const { requests } = run('codex success');
      expect(requests.map((r) => `${r.method} ${r.path} ${r.route}`)).toEqual(['POST /v1/responses openai.responses']);
      const request = requests[0]!;
      expect(request).toMatchObject({
        stream: true,
        auth: { scheme: 'bearer' },
        answer: { status: 200, step: 'reply' },
      });
      expect(request.auth.credential?.reveal()).toBe(OPENAI_KEY);
      expect(request.headers.originator).toBe('codex_exec');
      expect(request.headers.accept).toBe('text/event-stream');
      expect(request.headers['user-agent']).toMatch(/^codex_exec\/\d+\.\d+\.\d+ /);
      expect(request.headers['chatgpt-account-id']).toBeUndefined();
    });

    it('should print its failures as error and turn.failed lines', () => {
      const at = (name: string): string => `url: ${run(name).fakeUrl}/v1/responses, request id: req_fake[0-9a-f]{20}`;
      expectCodexFailure(
        'codex wrong key',
        new RegExp(
          '^unexpected status 401 Unauthorized: Incorrect API key provided: sk-proj-…Wk5e\\. ' +
            `You can find your API key at https://platform\\.openai\\.com/account/api-keys\\., ${at('codex wrong key')}$`,
        ),
      );
      expectCodexFailure(
        'codex 429',
        /^exceeded retry limit, last status: 429 Too Many Requests, request id: req_fake[0-9a-f]{20}$/,
      );
      expectCodexFailure('codex quota', 'Quota exceeded. Check your plan and billing details.');
      expectCodexFailure('codex 500', 'We’re currently experiencing high demand, which may cause temporary errors.');
      expectCodexFailure(
        'codex 503',
        new RegExp(
          `^unexpected status 503 Service Unavailable: The server is overloaded or not ready yet\\., ${at('codex 503')}$`,
        ),
      );
      expectCodexFailure('codex cut', 'stream disconnected before completion: error sending request');
      expectCodexFailure(
        'codex truncated',
        'stream disconnected before completion: stream closed before response.completed',
      );
      expectCodexFailure(
        'codex rate limit in stream',
        /^rate limit exceeded: Rate limit reached for requests on tokens per min \(TPM\)/,
      );
      // request_max_retries=0 and stream_max_retries=0: exactly one request each.
      for (const name of [
        'codex wrong key',
        'codex 429',
        'codex quota',
        'codex 500',
        'codex 503',
        'codex cut',
        'codex truncated',
        'codex rate limit in stream',
      ]) {
        expect(modelRoutes(name)).toEqual(['POST /v1/responses']);
      }
    });

    it('should use a ChatGPT login from auth.json with requires_openai_auth: access token as Bearer plus chatgpt-account-id', () => {
      const lines = codexLines('codex chatgpt login');
      expect(lines.at(-1)).toMatchObject({ type: 'turn.completed', usage: { input_tokens: 17, output_tokens: 4 } });
      const { requests, secrets } = run('codex chatgpt login');
      const paths = requests.map((r) => `${r.method} ${r.path.replace(/client_version=[\d.]+/, 'client_version=V')}`);
      // It also lists models (a shape the fake does not speak; Codex logs that on stderr and goes on).
      expect(new Set(paths)).toEqual(new Set(['GET /v1/models?client_version=V', 'POST /v1/responses']));
      for (const request of requests) {
        expect(request.auth.scheme).toBe('bearer');
        expect(request.auth.credential?.reveal()).toBe(secrets.at(-2));
        expect(request.headers['chatgpt-account-id']).toBe(ACCOUNT_ID);
      }
    });
  });
});

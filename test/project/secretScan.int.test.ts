/**
 * The whole-suite secret scan, end to end: an orchestrator with every observability output on
 * (logger, audit trail, metrics served over HTTP, the Stately inspector over WebSocket) reads real
 * credential files (an OAuth login that is refreshed, API keys, ChatGPT tokens, Claude Code's
 * login) from temp homes, runs agents through admission, usage, failures whose provider messages
 * quote the credentials, fallbacks and refusals, and the CLI runs `login` and `status` on the same
 * homes. No test secret may appear in any log line, audit entry, metrics text, inspection message,
 * error, event or CLI output.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createOrchestrator, isAgentvisorError } from '../../src';
import type { ManagedAgent } from '../../src';
import { SecretMasker, attachInspector, createLogger, serveMetrics } from '../../src/observability';
import { runCliSync } from '../helpers/batchCli';
import { EVENT_NAMES } from '../helpers/orchestratorFixtures';
import { newChatgptAccessToken, newIdToken, newToken, startFakeOAuthServer } from '../helpers/fakeOAuthServer';
import type { FakeOAuthServer } from '../helpers/fakeOAuthServer';
import { OutputCapture, describeLeaks, startWsCapture } from '../helpers/secretScan';
import type { PlantedSecret } from '../helpers/secretScan';

const root = path.join(__dirname, '..', '..');

const OPENAI_KEY = `sk-proj-ScanOpenAIKeyBody${'k'.repeat(30)}Zq7w`;
const LOGIN_KEY = `sk-proj-ScanLoginKeyBody${'l'.repeat(30)}Yp8v`;
const CHATGPT_REFRESH = `codex-refresh-ScanChatgptRefresh${'r'.repeat(24)}`;

let dir: string;
let home: string;
let claudeHome: string;
let oauth: FakeOAuthServer;

beforeEach(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'secret-scan-')));
  home = path.join(dir, '.codex');
  claudeHome = path.join(dir, '.claude');
  fs.mkdirSync(home, { mode: 0o700 });
  fs.mkdirSync(claudeHome, { mode: 0o700 });
  oauth = await startFakeOAuthServer();
});

afterEach(async () => {
  await oauth.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeSecretFile(file: string, data: unknown): void {
  fs.writeFileSync(file, JSON.stringify(data), { mode: 0o600 });
}

/** The credential files: a Claude login about to expire (refreshed at first use), Codex's API key and ChatGPT login, Claude Code's login. */
function plantCredentials(): PlantedSecret[] {
  const claudeAccess = newToken('oat');
  const claudeRefresh = newToken('ort');
  oauth.allow(claudeRefresh);
  writeSecretFile(path.join(home, 'claude_auth.json'), {
    oauth_tokens: {
      access_token: claudeAccess,
      refresh_token: claudeRefresh,
      expires_at: new Date(Date.now() + 60_000).toISOString(),
      subscription_tier: 'max',
    },
  });
  const chatgptAccess = newChatgptAccessToken(3_600_000);
  const chatgptId = newIdToken('plus');
  writeSecretFile(path.join(home, 'auth.json'), {
    OPENAI_API_KEY: OPENAI_KEY,
    tokens: {
      id_token: chatgptId,
      access_token: chatgptAccess,
      refresh_token: CHATGPT_REFRESH,
      account_id: 'acct-scan',
    },
  });
  const claudeCodeAccess = newToken('oat');
  const claudeCodeRefresh = newToken('ort');
  writeSecretFile(path.join(claudeHome, '.credentials.json'), {
    claudeAiOauth: {
      accessToken: claudeCodeAccess,
      refreshToken: claudeCodeRefresh,
      expiresAt: Date.now() + 3_600_000,
      subscriptionType: 'pro',
    },
  });
  return [
    { label: 'claude access token (expiring)', value: claudeAccess },
    { label: 'claude refresh token', value: claudeRefresh },
    { label: 'openai API key', value: OPENAI_KEY },
    { label: 'ChatGPT access token', value: chatgptAccess },
    { label: 'ChatGPT id token', value: chatgptId },
    { label: 'ChatGPT refresh token', value: CHATGPT_REFRESH },
    { label: 'Claude Code access token', value: claudeCodeAccess },
    { label: 'Claude Code refresh token', value: claudeCodeRefresh },
    { label: 'key given to login', value: LOGIN_KEY },
  ];
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** Runs the CLI from source on the temp homes, with an environment that holds no key. */
function cli(capture: OutputCapture, args: readonly string[]): number | null {
  const result = runCliSync(args, { cwd: root, home: dir, env: { CODEX_HOME: home, CLAUDE_CONFIG_DIR: claudeHome } });
  capture.add(`cli ${args.join(' ')}`, `${result.stdout}\n${result.stderr}`);
  return result.status;
}

describe('the whole-suite secret scan', () => {
  it('should find the planted secrets when they are there (the scan can fail)', () => {
    const control = new OutputCapture();
    control.add('plain', `key ${OPENAI_KEY}`);
    control.add('encoded', Buffer.from(LOGIN_KEY).toString('base64'));
    control.add('cut', `quoted without its prefix: ${OPENAI_KEY.slice(8)}`);
    control.add('hint only', 'sk-proj-…Zq7w');
    const leaks = control.scan([
      { label: 'openai', value: OPENAI_KEY },
      { label: 'login', value: LOGIN_KEY },
    ]);
    expect(describeLeaks(leaks)).toEqual([
      'openai (value) in plain[0]',
      'openai (fragment) in plain[0]',
      'login (base64) in encoded[0]',
      'openai (fragment) in cut[0]',
    ]);
  });

  it('should keep every credential out of logs, audit, metrics, inspection, errors, events and CLI output', async () => {
    const secrets = plantCredentials();
    const capture = new OutputCapture();
    const masker = new SecretMasker();
    const logger = createLogger('trace', capture.stream('log'), { masker });
    const receiver = await startWsCapture(capture, 'inspection');
    const attached = await attachInspector(receiver.url);
    const orch = createOrchestrator({
      home,
      claudeHome,
      env: {},
      oauth: { tokenEndpoint: oauth.url, clientId: 'test-client' },
      providerPriority: 'prefer-claude',
      limits: { claude: { dailyLimit: 50_000, maxConcurrent: 2 }, openai: { dailyLimit: 20_000, maxConcurrent: 3 } },
      logger,
      secretMasker: masker,
      audit: { flushIntervalMs: 20 },
      metrics: true,
      inspect: attached.inspect,
    });
    for (const name of EVENT_NAMES) orch.on(name, (payload: unknown) => capture.add('events', { name, payload }));
    const settle = async (what: string, call: () => unknown): Promise<unknown> => {
      try {
        const value = await call();
        capture.add('results', { what, value });
        return value;
      } catch (error) {
        // What a host does with an error: log it and show it.
        logger.error({ err: error }, `${what} failed`);
        capture.add('errors', error);
        return error;
      }
    };

    await orch.start();
    const metricsServer = await serveMetrics(orch, 0);
    const a1 = (await orch.spawnAgent({
      estimatedTokens: 5_000,
      agentId: 'a1',
      task: 'fix the build',
    })) as ManagedAgent;
    const a2 = await orch.spawnAgent({ estimatedTokens: 5_000, agentId: 'a2' });
    const a3 = await orch.spawnAgent({ estimatedTokens: 5_000, agentId: 'a3' });
    // Positive controls: the refreshed Claude token and the OpenAI key reached the agents.
    const claudeToken = a1.env.CLAUDE_CODE_OAUTH_TOKEN!;
    // The same login under the SDK's name: it must be masked wherever the first one is.
    expect(a1.env.ANTHROPIC_AUTH_TOKEN).toBe(claudeToken);
    expect(oauth.requests).toHaveLength(1);
    expect(oauth.issued).toContain(claudeToken);
    expect(a3.provider).toBe('openai');
    expect(a3.env.OPENAI_API_KEY).toBe(OPENAI_KEY);

    await settle('spawn while claude is full', () =>
      orch.spawnAgent({
        estimatedTokens: 5_000,
        agentId: 'a4',
        preferredProvider: 'claude',
        whenPreferredBusy: 'wait',
      }),
    );
    await settle('spawn beyond the budget', () => orch.spawnAgent({ estimatedTokens: 10 ** 8, agentId: 'a5' }));
    a1.reportUsage({ inputTokens: 1_000, outputTokens: 200 });
    // An agent's stderr, logged by the host: it quotes both credentials.
    logger.child({ agentId: 'a1' }).warn(
      {
        stderr: `HTTP 401 {"error":{"message":"invalid x-api-key ${OPENAI_KEY}"}}; sent Authorization: Bearer ${claudeToken}`,
      },
      'agent stderr',
    );
    await settle('a1 401', () =>
      a1.reportFailure({
        status: 401,
        body: {
          type: 'error',
          error: { type: 'authentication_error', message: `OAuth token ${claudeToken} has been revoked` },
        },
      }),
    );
    expect(a1.provider).toBe('openai');
    await settle('a3 429', () =>
      a3.reportFailure({
        status: 429,
        headers: { 'retry-after': '2' },
        body: { error: { type: 'rate_limit_error', message: `Rate limit reached for key ${OPENAI_KEY}` } },
      }),
    );
    await settle('a2 400', () =>
      a2.reportFailure({
        status: 400,
        body: {
          type: 'error',
          error: { type: 'invalid_request_error', message: `bad request with token ${claudeToken}` },
        },
      }),
    );
    await settle('a2 usage beyond the budget', () => a2.reportUsage({ inputTokens: 60_000, outputTokens: 0 }));
    capture.add('stats', orch.stats());
    capture.add('metrics', await orch.metrics());
    const served = await httpGet(metricsServer.url);
    capture.add('metrics http', served);
    for (const agent of [a1, a2, a3]) await settle(`release ${agent.id}`, () => agent.release());
    await orch.stop();
    await metricsServer.close();
    await attached.stop();
    for (let i = 0; i < 100 && receiver.received() < 100; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await receiver.stop();

    // The CLI on the same homes: a login (the key on the command line), then status.
    expect(cli(capture, ['--log-level', 'trace', 'login', 'openai', '--api-key', LOGIN_KEY])).toBe(0);
    expect(cli(capture, ['status'])).toBe(0);
    expect(cli(capture, ['--json', 'status'])).toBe(0);
    capture.addFolder('audit', path.join(home, 'audit'));

    // Every channel saw real traffic.
    const counts = capture.counts();
    expect(counts.log).toBeGreaterThan(20);
    expect(counts.inspection).toBeGreaterThan(100);
    expect(counts.errors).toBeGreaterThanOrEqual(4);
    const audit = capture.texts('audit').join('\n');
    for (const event of ['auth.refresh', 'agent.refused', 'agent.fallback', 'auth.login'])
      expect(audit).toContain(`"event":"${event}"`);
    expect(served).toContain('agentvisor_fallbacks_total{from="claude",reason="auth"} 1');
    expect(capture.texts('log').join('')).toContain('agent stderr');
    expect(capture.texts('cli status').join('')).toContain('sk-…Yp8v'); // the new key, as its hint

    const secretsSeen = [
      ...secrets,
      ...oauth.issued.map((value, i) => ({ label: `token issued by the OAuth server #${i}`, value })),
    ];
    expect(describeLeaks(capture.scan(secretsSeen))).toEqual([]);
    expect(isAgentvisorError(capture)).toBe(false);
  });
});

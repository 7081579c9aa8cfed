import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expectNoSecrets, lastJson, runCliSync } from '../helpers/batchCli';
import type { CliEnd } from '../helpers/batchCli';

const root = path.join(__dirname, '..', '..');

// Test keys only: well-formed, never real. Every one is checked against every command's output.
const CLAUDE_KEY = `sk-ant-api03-${'TestClaudeKeyBody'}${'c'.repeat(70)}Wx1z`;
const CLAUDE_KEY_2 = `sk-ant-api03-${'OtherClaudeKeyBody'}${'d'.repeat(70)}Qr2s`;
const OPENAI_KEY = `sk-proj-${'TestOpenAIKeyBody'}${'o'.repeat(40)}Ab3c`;
const ENV_KEY = `sk-ant-api03-${'EnvironmentKeyBody'}${'e'.repeat(70)}Zz9y`;
const REFRESH_TOKEN = `sk-ant-ort01-${'RefreshTokenBody'}${'r'.repeat(60)}Rf4t`;
const ACCESS_TOKEN = `sk-ant-oat01-${'AccessTokenBody'}${'a'.repeat(60)}Ac5d`;
const CODEX_TOKENS = {
  id_token: 'header.payload.signature',
  access_token: `codex-access-${'x'.repeat(40)}`,
  refresh_token: `codex-refresh-${'y'.repeat(40)}`,
  account_id: 'acct-1',
};
const SECRETS = [
  CLAUDE_KEY,
  CLAUDE_KEY_2,
  OPENAI_KEY,
  ENV_KEY,
  REFRESH_TOKEN,
  ACCESS_TOKEN,
  CODEX_TOKENS.access_token,
  CODEX_TOKENS.refresh_token,
];

let dir: string;
let home: string;
let claudeHome: string;
let outputs: string[];

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-credentials-')));
  home = path.join(dir, '.codex');
  claudeHome = path.join(dir, '.claude');
  outputs = [];
});

afterEach(() => {
  // The secret scan: no command printed any test key, in full or a long stretch, on stdout or stderr, in any path.
  expectNoSecrets(outputs, SECRETS);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI from source with a fresh home and an environment without any real key. */
function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): CliEnd {
  const env = { CODEX_HOME: home, CLAUDE_CONFIG_DIR: claudeHome, ...options.env };
  return runCliSync(args, { cwd: root, home: dir, env, outputs, input: options.input ?? '' });
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function writeJson(file: string, data: unknown, mode = 0o600): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(data)}\n`, { mode });
  fs.chmodSync(file, mode);
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

/** A provider no switch has turned off (AGENTVISOR_DISABLE_PROVIDERS unset). */
const ON = { enabled: true, disabledBy: null, rolloutPercent: 100 };

describe('agentvisor login', () => {
  it('should store a Claude key as ANTHROPIC_API_KEY in claude_auth.json, 0600, keeping foreign keys', () => {
    const file = path.join(home, 'claude_auth.json');
    writeJson(file, { preferred_mode: 'ApiKey', other_tool: { keep: true } });
    const { status, stdout } = cli(['login', 'claude', '--api-key', CLAUDE_KEY]);
    expect(status).toBe(0);
    expect(stdout).toContain('sk-ant-…Wx1z');
    expect(stdout).toContain(file);
    expect(readJson(file)).toEqual({
      preferred_mode: 'ApiKey',
      other_tool: { keep: true },
      ANTHROPIC_API_KEY: CLAUDE_KEY,
      schema_version: 1,
    });
    expect(modeOf(file)).toBe(0o600);
  });

  it("should store an OpenAI key in Codex's auth.json, keeping its ChatGPT tokens and every other key", () => {
    const file = path.join(home, 'auth.json');
    writeJson(file, {
      auth_mode: 'chatgpt',
      OPENAI_API_KEY: null,
      tokens: CODEX_TOKENS,
      last_refresh: '2025-01-01T00:00:00Z',
    });
    const { status, stdout } = cli(['--json', 'login', 'openai', '--api-key', OPENAI_KEY]);
    expect(status).toBe(0);
    const result = lastJson(stdout);
    expect(result).toMatchObject({
      ok: true,
      provider: 'openai',
      stored: 'OPENAI_API_KEY',
      file,
      hint: 'sk-…Ab3c',
      inUse: true,
    });
    expect(readJson(file)).toEqual({
      auth_mode: 'chatgpt',
      OPENAI_API_KEY: OPENAI_KEY,
      tokens: CODEX_TOKENS,
      last_refresh: '2025-01-01T00:00:00Z',
    });
    expect(modeOf(file)).toBe(0o600);
  });

  it('should read the key from stdin with --api-key -', () => {
    const { status, stdout } = cli(['--json', 'login', 'claude', '--api-key', '-'], { input: `${CLAUDE_KEY}\n` });
    expect(status).toBe(0);
    expect(lastJson(stdout)).toMatchObject({ provider: 'claude', hint: 'sk-ant-…Wx1z' });
    expect(readJson(path.join(home, 'claude_auth.json')).ANTHROPIC_API_KEY).toBe(CLAUDE_KEY);
  });

  it.each([
    ['a refresh token', ['claude', REFRESH_TOKEN], /refresh token/],
    ['an OpenAI key for Claude', ['claude', OPENAI_KEY], /looks like an OpenAI key/],
    ['an Anthropic key for OpenAI', ['openai', CLAUDE_KEY], /not an OpenAI key/],
    ['a key with white space', ['claude', `${CLAUDE_KEY.slice(0, 30)} ${CLAUDE_KEY.slice(30)}`], /white space/],
    ['a Claude OAuth access token given as an API key', ['claude', ACCESS_TOKEN], /OAuth access token/],
  ])(
    'should refuse %s with exit 2, a message naming the problem, and write nothing',
    (_name, [provider, key], message) => {
      const { status, stderr } = cli(['login', provider!, '--api-key', key!]);
      expect(status).toBe(2);
      expect(stderr).toMatch(message);
      expect(fs.existsSync(path.join(home, 'claude_auth.json'))).toBe(false);
      expect(fs.existsSync(path.join(home, 'auth.json'))).toBe(false);
    },
  );

  it.each([
    // Not the library's "or an OAuth access token (sk-ant-oat01-…)": login refuses those.
    ['a refresh token', ['claude', REFRESH_TOKEN], /refresh token.*agentvisor login claude --oauth/],
    ['an OpenAI key for Claude', ['claude', OPENAI_KEY], /store it with `agentvisor login openai`/],
    ['an Anthropic key for OpenAI', ['openai', CLAUDE_KEY], /store it with `agentvisor login claude`/],
    ['a short key', ['claude', 'sk-ant-api03-abc'], /too short .*paste the whole key/],
    ['a Claude access token for OpenAI', ['openai', ACCESS_TOKEN], /sign in with `agentvisor login claude --oauth`/],
    [
      'a key of no known shape',
      ['claude', `x${CLAUDE_KEY}`],
      /is not an Anthropic API key \(sk-ant-api03-…\) \[auth-failed\]/,
    ],
  ])(
    'should tell a login of %s what to store instead, and never suggest an access token',
    (_name, [provider, key], message) => {
      const { status, stderr } = cli(['login', provider!, '--api-key', key!]);
      expect(status).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr).not.toContain('sk-ant-oat01');
    },
  );

  it('should refuse an empty stdin and a missing --api-key with exit 2', () => {
    expect(cli(['login', 'openai', '--api-key', '-'], { input: '' })).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/empty.*pipe the key in/),
    });
    expect(cli(['login', 'openai'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/--api-key -/) });
  });

  it('should sign in with --oauth through the browser callback and store the login 0600, keeping other keys', async () => {
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(home, 'claude_auth.json'), JSON.stringify({ other_program: { keep: 1 } }), {
      mode: 0o600,
    });
    const exchanges: Record<string, unknown>[] = [];
    const tokenServer = http.createServer((req, res) => {
      // After the exchange the CLI asks the issuer's profile endpoint for the tier: none here.
      if (req.url !== '/token') return void res.writeHead(404).end();
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        exchanges.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            access_token: ACCESS_TOKEN,
            refresh_token: REFRESH_TOKEN,
            expires_in: 3600,
            scope: 'user:inference',
          }),
        );
      });
    });
    await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
    const port = (tokenServer.address() as AddressInfo).port;
    const child = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        path.join(root, 'src', 'cli', 'main.ts'),
        '--json',
        'login',
        'claude',
        '--oauth',
        '--authorize-url',
        `http://127.0.0.1:${port}/authorize`,
        '--token-endpoint',
        `http://127.0.0.1:${port}/token`,
        '--timeout',
        '60',
      ],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          CODEX_HOME: home,
          CLAUDE_CONFIG_DIR: claudeHome,
          TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const url = await new Promise<URL>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        const match = /http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+/.exec(stderr);
        if (match) resolve(new URL(match[0]));
      });
      child.on('exit', () => reject(new Error(`the CLI exited before printing the address: ${stderr}`)));
    });
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    // Act as the browser: the provider redirects back with the code and the same state.
    const callback = new URL(url.searchParams.get('redirect_uri')!);
    callback.searchParams.set('code', 'the-authorization-code');
    callback.searchParams.set('state', url.searchParams.get('state')!);
    const page = await fetch(callback);
    expect(page.status).toBe(200);
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    tokenServer.close();
    outputs.push(stdout, stderr);
    expect(status).toBe(0);
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]).toMatchObject({
      grant_type: 'authorization_code',
      code: 'the-authorization-code',
      client_id: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
    });
    expect(lastJson(stdout)).toMatchObject({ ok: true, provider: 'claude', kind: 'oauth', hint: 'sk-ant-oat01-…Ac5d' });
    const file = path.join(home, 'claude_auth.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      oauth_tokens: Record<string, unknown>;
      other_program: unknown;
    };
    expect(data.oauth_tokens.access_token).toBe(ACCESS_TOKEN);
    expect(data.oauth_tokens.refresh_token).toBe(REFRESH_TOKEN);
    expect(data.other_program).toEqual({ keep: 1 });
  });

  it.each([
    ['claude', 'claude_auth.json', { oauth_tokens: ACCESS_TOKEN, preferred_mode: 'ApiKey' }, 'oauth_tokens'],
    ['openai', 'auth.json', { tokens: { access_token: 42, refresh_token: REFRESH_TOKEN } }, 'tokens.access_token'],
  ])(
    'should refuse to store the %s key in a file whose other fields the reader refuses, leaving it byte for byte',
    (provider, name, content, field) => {
      const file = path.join(home, name);
      writeJson(file, content);
      const before = fs.readFileSync(file);
      const { status, stderr, stdout } = cli([
        'login',
        provider,
        '--api-key',
        provider === 'claude' ? CLAUDE_KEY : OPENAI_KEY,
      ]);
      expect(status).toBe(2);
      expect(stderr).toContain(field);
      expect(stderr).toContain('[invalid-credentials-file]');
      expect(stdout).not.toContain('Stored');
      expect(fs.readFileSync(file).equals(before)).toBe(true);
    },
  );

  it('should not echo a key from a mistyped option', () => {
    const { status, stderr } = cli(['login', 'claude', `--apikey=${CLAUDE_KEY}`]);
    expect(status).not.toBe(0);
    expect(stderr).toContain('unknown option');
  });

  it('should say when a key in the environment takes precedence over the stored one', () => {
    const { status, stdout } = cli(['--json', 'login', 'claude', '--api-key', CLAUDE_KEY], {
      env: { ANTHROPIC_API_KEY: ENV_KEY },
    });
    expect(status).toBe(0);
    expect(lastJson(stdout)).toMatchObject({ inUse: false, activeSource: 'env:ANTHROPIC_API_KEY' });
  });

  it('should repair loose permissions on the file it writes', () => {
    const file = path.join(home, 'auth.json');
    writeJson(file, { tokens: CODEX_TOKENS }, 0o644);
    const { status, stderr } = cli(['login', 'openai', '--api-key', OPENAI_KEY]);
    expect(status).toBe(0);
    expect(stderr).toMatch(/mode 644.*repaired/);
    expect(modeOf(file)).toBe(0o600);
  });
});

describe('agentvisor logout', () => {
  const seed = () => {
    writeJson(path.join(home, 'claude_auth.json'), {
      schema_version: 1,
      ANTHROPIC_API_KEY: CLAUDE_KEY,
      oauth_tokens: { access_token: ACCESS_TOKEN, refresh_token: REFRESH_TOKEN, expires_at: '2030-01-01T00:00:00Z' },
      preferred_mode: 'MaxSubscription',
    });
    writeJson(path.join(home, 'auth.json'), { auth_mode: 'chatgpt', OPENAI_API_KEY: OPENAI_KEY, tokens: CODEX_TOKENS });
  };

  it('should remove only the Claude key and login from claude_auth.json', () => {
    seed();
    const { status, stdout } = cli(['--json', 'logout', 'claude']);
    expect(status).toBe(0);
    expect(lastJson(stdout).results).toEqual([
      {
        provider: 'claude',
        file: path.join(home, 'claude_auth.json'),
        removed: ['ANTHROPIC_API_KEY', 'oauth_tokens'],
        leftAlone: [],
        deleted: false,
      },
    ]);
    expect(readJson(path.join(home, 'claude_auth.json'))).toEqual({
      schema_version: 1,
      preferred_mode: 'MaxSubscription',
    });
    expect(readJson(path.join(home, 'auth.json')).OPENAI_API_KEY).toBe(OPENAI_KEY);
  });

  it("should remove the OPENAI_API_KEY agentvisor stored in Codex's auth.json and keep the file and its tokens", () => {
    seed();
    writeJson(path.join(home, 'auth.json'), { auth_mode: 'chatgpt', tokens: CODEX_TOKENS });
    expect(cli(['login', 'openai', '--api-key', OPENAI_KEY]).status).toBe(0);
    const { status, stdout } = cli(['logout', 'openai']);
    expect(status).toBe(0);
    expect(stdout).toContain('removed OPENAI_API_KEY');
    expect(readJson(path.join(home, 'auth.json'))).toEqual({ auth_mode: 'chatgpt', tokens: CODEX_TOKENS });
    expect(readJson(path.join(home, 'claude_auth.json')).ANTHROPIC_API_KEY).toBe(CLAUDE_KEY);
  });

  it('should remove both with all, delete our emptied file, and treat nothing to remove as success', () => {
    cli(['login', 'claude', '--api-key', CLAUDE_KEY]);
    cli(['login', 'openai', '--api-key', OPENAI_KEY]);
    const first = cli(['--json', 'logout', 'all']);
    expect(first.status).toBe(0);
    expect(lastJson(first.stdout).results).toEqual([
      {
        provider: 'claude',
        file: path.join(home, 'claude_auth.json'),
        removed: ['ANTHROPIC_API_KEY'],
        leftAlone: [],
        deleted: true,
      },
      {
        provider: 'openai',
        file: path.join(home, 'auth.json'),
        removed: ['OPENAI_API_KEY'],
        leftAlone: [],
        deleted: false,
      },
    ]);
    expect(fs.existsSync(path.join(home, 'claude_auth.json'))).toBe(false);
    expect(readJson(path.join(home, 'auth.json'))).toEqual({});
    const again = cli(['logout', 'all']);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('nothing to remove');
  });

  it('should refuse to touch a claude_auth.json a newer agentvisor wrote (higher schema_version), as login does', () => {
    const file = path.join(home, 'claude_auth.json');
    writeJson(file, { schema_version: 2, ANTHROPIC_API_KEY: CLAUDE_KEY, keys: { claude: { value: CLAUDE_KEY_2 } } });
    const before = fs.readFileSync(file);
    const { status, stderr } = cli(['logout', 'claude']);
    expect(status).toBe(2);
    expect(stderr).toContain('schema_version 2');
    expect(stderr).toContain('upgrade agentvisor');
    expect(stderr).toContain('[invalid-credentials-file]');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('should not create the home folder when there is nothing to remove', () => {
    expect(cli(['logout', 'all']).status).toBe(0);
    expect(fs.existsSync(home)).toBe(false);
  });
});

describe('agentvisor status', () => {
  it('should show the source and hint of the stored keys, the limits and the files looked at', () => {
    cli(['login', 'claude', '--api-key', CLAUDE_KEY]);
    cli(['login', 'openai', '--api-key', OPENAI_KEY]);
    const human = cli(['status']);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/claude\s+on\s+file:claude_auth\.json\s+api-key\s+sk-ant-…Wx1z/);
    expect(human.stdout).toMatch(/openai\s+on\s+file:auth\.json\s+api-key\s+sk-…Ab3c/);
    expect(human.stdout).toContain('Sessions start on: openai, then claude');
    const { status, stdout } = cli(['--json', 'status']);
    expect(status).toBe(0);
    const result = lastJson(stdout) as {
      providers: { provider: string; credential: unknown; limits: unknown }[];
      sources: { source: string; file: string | null }[];
      problems: unknown[];
    };
    expect(result.providers).toEqual([
      {
        provider: 'claude',
        displayName: 'Claude (Anthropic)',
        credential: {
          source: 'file:claude_auth.json',
          kind: 'api-key',
          hint: 'sk-ant-…Wx1z',
          tier: null,
          credentialClass: 'claude-api-key',
          expiresAt: null,
          expired: false,
        },
        limits: { dailyLimit: 1_000_000, maxConcurrent: 10 },
        switch: ON,
        pausedUntil: null,
      },
      {
        provider: 'openai',
        displayName: 'OpenAI',
        credential: {
          source: 'file:auth.json',
          kind: 'api-key',
          hint: 'sk-…Ab3c',
          tier: null,
          credentialClass: 'openai-api-key',
          expiresAt: null,
          expired: false,
        },
        limits: { dailyLimit: 500_000, maxConcurrent: 8 },
        switch: ON,
        pausedUntil: null,
      },
    ]);
    expect(result.sources.map((s) => s.file)).toContain(path.join(claudeHome, '.credentials.json'));
    expect(result.problems).toEqual([]);
  });

  it('should show a Claude login with its tier and expiry', () => {
    writeJson(path.join(claudeHome, '.credentials.json'), {
      claudeAiOauth: {
        accessToken: ACCESS_TOKEN,
        refreshToken: REFRESH_TOKEN,
        expiresAt: Date.parse('2099-01-01T00:00:00Z'),
        scopes: ['user:inference'],
        subscriptionType: 'max',
      },
    });
    const { status, stdout } = cli(['--json', 'status']);
    expect(status).toBe(0);
    const claude = (lastJson(stdout).providers as { credential: unknown }[])[0];
    expect(claude!.credential).toEqual({
      source: 'file:.credentials.json',
      kind: 'oauth',
      hint: 'sk-ant-…Ac5d',
      tier: 'max',
      credentialClass: 'claude-max',
      expiresAt: '2099-01-01T00:00:00.000Z',
      expired: false,
    });
  });

  it('should report a corrupt file and loose permissions as problems without crashing', () => {
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(home, 'claude_auth.json'), `{ "ANTHROPIC_API_KEY": "${CLAUDE_KEY}", oops }`, {
      mode: 0o600,
    });
    writeJson(path.join(home, 'auth.json'), { OPENAI_API_KEY: OPENAI_KEY }, 0o644);
    const human = cli(['status']);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/problem \(claude-auth-file, invalid-credentials-file\)/);
    const { status, stdout } = cli(['--json', 'status']);
    expect(status).toBe(0);
    const result = lastJson(stdout) as {
      providers: { credential: unknown }[];
      problems: { source: string; code: string; message: string }[];
      warnings: string[];
    };
    expect(result.problems).toEqual([
      expect.objectContaining({
        source: 'claude-auth-file',
        code: 'invalid-credentials-file',
        message: expect.stringMatching(/not valid JSON at line 1/),
      }),
    ]);
    expect(result.warnings.join('\n')).toMatch(/auth\.json has mode 644/);
    expect(result.providers[0]!.credential).toBeNull();
    expect(result.providers[1]!.credential).toMatchObject({ hint: 'sk-…Ab3c' });
  });
  it("should warn when a key set for one provider is the other provider's and will not be used", () => {
    const { status, stdout } = cli(['status'], { env: { OPENAI_API_KEY: CLAUDE_KEY } });
    expect(status).toBe(0);
    expect(stdout).toContain('warning: env:OPENAI_API_KEY: sk-ant-…Wx1z is an Anthropic key');
    expect(stdout).toMatch(/openai\s+on\s+none/);
  });
});

describe('agentvisor providers', () => {
  it('should list both providers with their variables, limits and the fallback order', () => {
    const human = cli(['providers'], { env: { OPENAI_BASE_URL: 'https://user:secret@proxy.example/v1' } });
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(
      /claude\s+Claude \(Anthropic\)\s+on\s+ANTHROPIC_API_KEY, CLAUDE_API_KEY, CLAUDE_CODE_OAUTH_TOKEN/,
    );
    expect(human.stdout).toContain('Fallback order: claude → openai');
    expect(human.stdout).not.toContain('secret@');
    const { status, stdout } = cli(['--json', 'providers'], { env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:8080' } });
    expect(status).toBe(0);
    expect(lastJson(stdout)).toEqual({
      ok: true,
      providers: [
        {
          id: 'claude',
          displayName: 'Claude (Anthropic)',
          apiKeyEnv: ['ANTHROPIC_API_KEY', 'CLAUDE_API_KEY'],
          oauthEnv: 'CLAUDE_CODE_OAUTH_TOKEN',
          baseUrlEnv: 'ANTHROPIC_BASE_URL',
          baseUrl: 'http://127.0.0.1:8080',
          defaultLimits: { dailyLimit: 1_000_000, maxConcurrent: 10 },
          switch: ON,
        },
        {
          id: 'openai',
          displayName: 'OpenAI',
          apiKeyEnv: ['OPENAI_API_KEY'],
          oauthEnv: null,
          baseUrlEnv: 'OPENAI_BASE_URL',
          baseUrl: null,
          defaultLimits: { dailyLimit: 500_000, maxConcurrent: 8 },
          switch: ON,
        },
      ],
      fallbackOrder: ['claude', 'openai'],
      config: { file: path.join(home, 'agentvisor', 'config.json'), loaded: false },
    });
  });
  it('should mask a key pasted into a base URL variable in --json output as in text output', () => {
    // A slip people make: the key itself in ANTHROPIC_BASE_URL / OPENAI_BASE_URL.
    const env = { ANTHROPIC_BASE_URL: CLAUDE_KEY, OPENAI_BASE_URL: `https://proxy.example/v1/${OPENAI_KEY}` };
    for (const args of [['providers'], ['--json', 'providers'], ['--json', 'status']]) {
      const { status, stdout } = cli(args, { env });
      expect(status).toBe(0);
      expect(stdout).not.toContain(CLAUDE_KEY.slice(12, 40));
      expect(stdout).not.toContain(OPENAI_KEY.slice(8, 40));
    }
  });
});

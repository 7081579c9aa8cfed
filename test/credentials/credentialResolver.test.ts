import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { createCredentialResolver } from '../../src/credentials';
import type { CredentialSourceId } from '../../src/credentials';
import { createOrchestrator, isAgentvisorError } from '../../src';
import { T0 } from '../helpers/timeOrigin';

const KEYS = {
  envClaude: 'sk-ant-api03-ENVKEY-resolver-test-0001',
  fileClaude: 'sk-ant-api03-FILEKEY-resolver-test-0002',
  optionClaude: 'sk-ant-api03-OPTKEY-resolver-test-0003',
  claudeCodeToken: 'sk-ant-oat01-CCTOKEN-resolver-test-0004',
  claudeCodeRefresh: 'sk-ant-ort01-CCREFRESH-resolver-test-0005',
  fileOpenai: 'sk-proj-FILEKEY-resolver-test-0006',
  envOauth: 'sk-ant-oat01-ENVOAUTH-resolver-test-0007',
  envOpenai: 'sk-proj-ENVKEY-resolver-test-0008',
};
const ALL_SECRETS = Object.values(KEYS);

/** Every folder tempDirs made, removed when the file ends. */
const made: string[] = [];
afterAll(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDirs() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'resolver-'));
  made.push(root);
  const home = path.join(root, 'codex');
  const claudeHome = path.join(root, 'claude');
  fs.mkdirSync(home, { mode: 0o700 });
  fs.mkdirSync(claudeHome, { mode: 0o700 });
  return { root, home, claudeHome };
}

function write(file: string, data: unknown) {
  fs.writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data), { mode: 0o600 });
}

function claudeCode(dir: string, expiresAt: number) {
  write(path.join(dir, '.credentials.json'), {
    claudeAiOauth: {
      accessToken: KEYS.claudeCodeToken,
      refreshToken: KEYS.claudeCodeRefresh,
      expiresAt,
      scopes: ['user:inference'],
      subscriptionType: 'max',
    },
    mcpOAuth: { other: 'kept' },
  });
}

function resolver(
  dirs: ReturnType<typeof tempDirs>,
  env: Record<string, string>,
  sources?: readonly CredentialSourceId[],
  apiKeys = {},
) {
  return createCredentialResolver({
    env,
    apiKeys,
    home: dirs.home,
    claudeHome: dirs.claudeHome,
    userHome: dirs.root,
    now: () => T0,
    ...(sources ? { sources } : {}),
  });
}

function secretEnvOf(result: { secretEnv: Readonly<Record<string, { reveal(): string }>> }) {
  return Object.fromEntries(Object.entries(result.secretEnv).map(([k, v]) => [k, v.reveal()]));
}

const input = (provider: 'claude' | 'openai') => ({ provider, sessionId: 's', agentId: 'a' });

function expectNoSecret(value: unknown) {
  const text =
    `${JSON.stringify(value)} ${util.inspect(value, { depth: 10, showHidden: true })} ` +
    `${value instanceof Error ? `${value.message} ${value.stack}` : ''}`;
  for (const secret of ALL_SECRETS) expect(text).not.toContain(secret);
}

describe('createCredentialResolver', () => {
  it('should take options, then the env, then claude_auth.json, then Claude Code, per provider', async () => {
    const dirs = tempDirs();
    write(path.join(dirs.home, 'claude_auth.json'), { ANTHROPIC_API_KEY: KEYS.fileClaude });
    claudeCode(dirs.claudeHome, T0 + 3_600_000);

    const withOptions = resolver(dirs, { ANTHROPIC_API_KEY: KEYS.envClaude }, undefined, { claude: KEYS.optionClaude });
    await withOptions.load();
    const a = await withOptions.authenticate(input('claude'));
    expect(a.source).toBe('options.apiKeys.claude');
    expect(secretEnvOf(a)).toEqual({ ANTHROPIC_API_KEY: KEYS.optionClaude, CLAUDE_API_KEY: KEYS.optionClaude });

    const fromEnv = resolver(dirs, { ANTHROPIC_API_KEY: KEYS.envClaude });
    await fromEnv.load();
    expect((await fromEnv.authenticate(input('claude'))).source).toBe('env:ANTHROPIC_API_KEY');

    const fromFile = resolver(dirs, {});
    await fromFile.load();
    const f = await fromFile.authenticate(input('claude'));
    expect(f.source).toBe('file:claude_auth.json');
    expect(secretEnvOf(f)).toEqual({ ANTHROPIC_API_KEY: KEYS.fileClaude, CLAUDE_API_KEY: KEYS.fileClaude });
    expect(f.hint).toBe('sk-ant-…0002');

    fs.rmSync(path.join(dirs.home, 'claude_auth.json'));
    const fromClaudeCode = resolver(dirs, {});
    await fromClaudeCode.load();
    const c = await fromClaudeCode.authenticate(input('claude'));
    expect(c.source).toBe('file:.credentials.json');
    // A subscription login goes to the agent as CLAUDE_CODE_OAUTH_TOKEN (Claude Code) and ANTHROPIC_AUTH_TOKEN (the SDK), never as an API key.
    expect(secretEnvOf(c)).toEqual({
      CLAUDE_CODE_OAUTH_TOKEN: KEYS.claudeCodeToken,
      ANTHROPIC_AUTH_TOKEN: KEYS.claudeCodeToken,
    });
    expect(fromClaudeCode.describe('claude')).toMatchObject({ kind: 'oauth', tier: 'max', expiresAt: T0 + 3_600_000 });
    expectNoSecret(fromClaudeCode.describe('claude'));
  });

  it('should honour a custom order and leave out sources that are not listed', async () => {
    const dirs = tempDirs();
    write(path.join(dirs.home, 'claude_auth.json'), { ANTHROPIC_API_KEY: KEYS.fileClaude });
    const filesFirst = resolver(dirs, { ANTHROPIC_API_KEY: KEYS.envClaude }, ['claude-auth-file', 'env']);
    await filesFirst.load();
    expect((await filesFirst.authenticate(input('claude'))).source).toBe('file:claude_auth.json');

    const envOnly = resolver(dirs, {}, ['options', 'env']);
    await envOnly.load();
    expect(() => envOnly.authenticate(input('claude'))).toThrow(/no usable Claude \(Anthropic\) credentials/);
  });

  it('should read OPENAI_API_KEY from Codex auth.json, and give it only to OpenAI sessions', async () => {
    const dirs = tempDirs();
    write(path.join(dirs.home, 'auth.json'), {
      OPENAI_API_KEY: KEYS.fileOpenai,
      tokens: null,
      last_refresh: '2025-12-01T00:00:00Z',
    });
    const r = resolver(dirs, {});
    await r.load();
    const o = await r.authenticate(input('openai'));
    expect(o.source).toBe('file:auth.json');
    expect(secretEnvOf(o)).toEqual({ OPENAI_API_KEY: KEYS.fileOpenai });
    expect(() => r.authenticate(input('claude'))).toThrow();
  });

  it("should pass over a key of the other provider bound for the provider's own API, and name it in the refusal", async () => {
    const dirs = tempDirs();
    // Swapped variables: each key would be sent to the other company's API.
    const r = resolver(dirs, { OPENAI_API_KEY: KEYS.envClaude, ANTHROPIC_API_KEY: KEYS.envOpenai });
    await r.load();
    for (const provider of ['claude', 'openai'] as const) {
      let caught: unknown;
      try {
        r.authenticate(input(provider));
      } catch (error) {
        caught = error;
      }
      expect(isAgentvisorError(caught, 'auth-failed')).toBe(true);
      expect((caught as Error).message).toMatch(provider === 'openai' ? /an Anthropic key/ : /an OpenAI key/);
      expectNoSecret(caught);
      expect(r.describe(provider)).toBeNull();
    }
    expect(r.credentialClasses()).toEqual({ claude: null, openai: null });
    expect(r.passedOver('openai')).toEqual([
      expect.stringMatching(/^env:OPENAI_API_KEY: sk-ant-…0001 is an Anthropic key/),
    ]);
    expectNoSecret(r.passedOver('claude'));
    // The next source in order still counts.
    write(path.join(dirs.home, 'auth.json'), { OPENAI_API_KEY: KEYS.fileOpenai });
    await r.load();
    expect(secretEnvOf(await r.authenticate(input('openai')))).toEqual({ OPENAI_API_KEY: KEYS.fileOpenai });
  });

  it('should hand any key to an endpoint the base URL names (a proxy, an OpenAI-compatible Anthropic API)', async () => {
    const dirs = tempDirs();
    const r = resolver(dirs, {
      OPENAI_API_KEY: KEYS.envClaude,
      OPENAI_BASE_URL: 'https://api.anthropic.com/v1/',
      ANTHROPIC_API_KEY: KEYS.envOpenai,
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000',
    });
    await r.load();
    expect(secretEnvOf(await r.authenticate(input('openai')))).toEqual({ OPENAI_API_KEY: KEYS.envClaude });
    expect(secretEnvOf(await r.authenticate(input('claude')))).toMatchObject({ ANTHROPIC_API_KEY: KEYS.envOpenai });
  });

  it('should give CLAUDE_CODE_OAUTH_TOKEN from the env to a Claude session when no API key is set', async () => {
    const dirs = tempDirs();
    const r = resolver(dirs, { CLAUDE_CODE_OAUTH_TOKEN: KEYS.envOauth });
    await r.load();
    const result = await r.authenticate(input('claude'));
    expect(result.source).toBe('env:CLAUDE_CODE_OAUTH_TOKEN');
    expect(secretEnvOf(result)).toEqual({
      CLAUDE_CODE_OAUTH_TOKEN: KEYS.envOauth,
      ANTHROPIC_AUTH_TOKEN: KEYS.envOauth,
    });
  });

  it('should pass over an expired login and say so when nothing else is usable, without the token', async () => {
    const dirs = tempDirs();
    claudeCode(dirs.claudeHome, T0 - 1);
    const r = resolver(dirs, {});
    await r.load();
    let caught: unknown;
    try {
      r.authenticate(input('claude'));
    } catch (error) {
      caught = error;
    }
    expect(isAgentvisorError(caught, 'auth-failed')).toBe(true);
    expect((caught as Error).message).toContain('expired at 2026-01-01T11:59:59.999Z');
    expectNoSecret(caught);
    expect(r.describe('claude')).toBeNull();
  });

  it('should report a corrupt file as a problem, deny with its reason, and leave the file untouched', async () => {
    const dirs = tempDirs();
    const file = path.join(dirs.home, 'claude_auth.json');
    const corrupt = `{"ANTHROPIC_API_KEY": "${KEYS.fileClaude}"`;
    write(file, corrupt);
    const r = resolver(dirs, {});
    const report = await r.load();
    expect(report.problems).toEqual([
      expect.objectContaining({ source: 'claude-auth-file', code: 'invalid-credentials-file' }),
    ]);
    expectNoSecret(report);
    let caught: unknown;
    try {
      r.authenticate(input('claude'));
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).toContain('claude_auth.json is not valid JSON');
    expectNoSecret(caught);
    expect(fs.readFileSync(file, 'utf8')).toBe(corrupt);
  });
});

describe('orchestrator credentials', () => {
  it('should run sessions on keys from credential files in home, with no key in the env', async () => {
    const dirs = tempDirs();
    write(path.join(dirs.home, 'auth.json'), { OPENAI_API_KEY: KEYS.fileOpenai });
    claudeCode(dirs.claudeHome, Date.now() + 3_600_000);
    const orch = createOrchestrator({ env: {}, home: dirs.home, claudeHome: dirs.claudeHome });
    await orch.start();
    const claude = await orch.spawnAgent({ estimatedTokens: 1000 });
    expect(claude.env.CLAUDE_CODE_OAUTH_TOKEN).toBe(KEYS.claudeCodeToken);
    expect(claude.env.ANTHROPIC_AUTH_TOKEN).toBe(KEYS.claudeCodeToken);
    expect(claude.env.ANTHROPIC_API_KEY).toBeUndefined();
    const openai = await orch.spawnAgent({ estimatedTokens: 1000, preferredProvider: 'openai' });
    expect(openai.env.OPENAI_API_KEY).toBe(KEYS.fileOpenai);
    expect(Object.values(openai.env)).not.toContain(KEYS.claudeCodeToken);
    expectNoSecret(orch.actor.getPersistedSnapshot());
    await orch.stop();
  });

  it('should refuse credentialSources it does not know', () => {
    expect(() => createOrchestrator({ credentialSources: ['env', 'keychain' as CredentialSourceId] })).toThrow(
      /credentialSources\[1\] must be one of options, env, claude-auth-file, codex-auth-file, claude-code, got "keychain"/,
    );
  });
});

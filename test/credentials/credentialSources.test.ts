import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import {
  CLAUDE_AUTH_SCHEMA_VERSION,
  decodeJwtClaims,
  defaultClaudeHome,
  readClaudeAuth,
  readClaudeCodeCredentials,
  readCodexAuth,
} from '../../src/credentials/sources';
import { isAgentvisorError } from '../../src/errors';
import type { AgentvisorError } from '../../src/errors';

// Every test secret carries this marker, so the scan below catches any of them (or a large piece).
const OPENAI_KEY = 'sk-proj-SECRETopenaiKEY0000000000001111';
const CHATGPT_ACCESS = 'SECRETchatgptACCESS-eyJhbGciOiJSUzI1NiJ9.aaaa.bbbb2222';
const CHATGPT_REFRESH = 'rt_SECRETchatgptREFRESH3333333333';
const ANTHROPIC_KEY = 'sk-ant-api03-SECRETanthropicKEY444444444';
const CLAUDE_ACCESS = 'sk-ant-oat01-SECRETclaudeACCESS5555555555';
const CLAUDE_REFRESH = 'sk-ant-ort01-SECRETclaudeREFRESH666666666';
const SECRET_VALUES = [OPENAI_KEY, CHATGPT_ACCESS, CHATGPT_REFRESH, ANTHROPIC_KEY, CLAUDE_ACCESS, CLAUDE_REFRESH];

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
/** An unsigned-looking JWT whose payload carries the ChatGPT claims. */
function makeJwt(claims: Record<string, unknown>): string {
  return `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}.SECRETsignaturePART7777`;
}
const ID_TOKEN = makeJwt({
  email: 'someone@example.com',
  exp: 1_900_000_000,
  'https://api.openai.com/auth': { chatgpt_plan_type: 'pro', chatgpt_account_id: 'acct-from-claims' },
});
SECRET_VALUES.push(ID_TOKEN);

let tmp: string;
let home: string;

beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-sources-')));
  home = path.join(tmp, 'home');
  fs.mkdirSync(home, { mode: 0o700 });
});

afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function writeJson(file: string, value: unknown, mode = 0o600): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, JSON.stringify(value, null, 2), { mode });
  fs.chmodSync(file, mode);
  return file;
}

/** No test secret may appear in any rendering of `value`. */
function expectNoSecrets(value: unknown): void {
  const renderings = [
    JSON.stringify(value) ?? '',
    util.inspect(value, { depth: Infinity, showHidden: true }),
    String(value),
  ];
  if (value instanceof Error) renderings.push(value.message, value.stack ?? '');
  for (const text of renderings) {
    for (const secret of SECRET_VALUES) expect(text).not.toContain(secret);
    expect(text).not.toContain('SECRET');
  }
}

async function expectError(fn: () => Promise<unknown>, code: string): Promise<AgentvisorError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  expect(isAgentvisorError(caught)).toBe(true);
  const error = caught as AgentvisorError;
  expect(error.code).toBe(code);
  expect(error.cause).toBeUndefined();
  expectNoSecrets(error);
  return error;
}

const codexFile = (): string => path.join(home, '.codex', 'auth.json');
const claudeAuthFile = (): string => path.join(home, '.codex', 'claude_auth.json');
const claudeCodeFile = (): string => path.join(home, '.claude', '.credentials.json');
const codexHome = (): string => path.join(home, '.codex');
const claudeHome = (): string => defaultClaudeHome({}, home);

const codexFixture = (): Record<string, unknown> => ({
  auth_mode: 'chatgpt',
  OPENAI_API_KEY: OPENAI_KEY,
  tokens: { id_token: ID_TOKEN, access_token: CHATGPT_ACCESS, refresh_token: CHATGPT_REFRESH, account_id: 'acct-123' },
  last_refresh: '2025-06-01T12:00:00.123456Z',
});

const claudeAuthFixture = (): Record<string, unknown> => ({
  ANTHROPIC_API_KEY: ANTHROPIC_KEY,
  oauth_tokens: {
    access_token: CLAUDE_ACCESS,
    refresh_token: CLAUDE_REFRESH,
    expires_at: '2025-06-01T14:00:00+02:00',
    subscription_tier: 'max',
    scope: 'user:inference user:profile',
  },
  subscription_info: { tier: 'max', organization: 'Example' },
  last_refresh: '2025-06-01T11:00:00Z',
  preferred_mode: 'MaxSubscription',
});

const claudeCodeFixture = (): Record<string, unknown> => ({
  claudeAiOauth: {
    accessToken: CLAUDE_ACCESS,
    refreshToken: CLAUDE_REFRESH,
    expiresAt: 1_748_779_200_000,
    scopes: ['user:inference', 'user:profile'],
    subscriptionType: 'max',
    rateLimitTier: 'default_claude_max_20x',
  },
  mcpOAuth: { 'some-server': { accessToken: 'SECRETmcpTOKEN' } },
});

describe('readCodexAuth', () => {
  it('should return null when auth.json is missing', async () => {
    await expect(readCodexAuth(codexHome(), { userHome: home })).resolves.toBeNull();
  });

  it('should read the API key and the ChatGPT tokens, with the plan from the id_token', async () => {
    writeJson(codexFile(), codexFixture());
    const auth = await readCodexAuth(codexHome(), { userHome: home });
    expect(auth).not.toBeNull();
    if (!auth) return;
    expect(auth.file).toBe(codexFile());
    expect(auth.warnings).toEqual([]);
    expect(auth.authMode).toBe('chatgpt');
    expect(auth.lastRefresh).toBe('2025-06-01T12:00:00.123456Z');
    expect(auth.apiKey).toMatchObject({
      kind: 'api-key',
      provider: 'openai',
      source: 'file:auth.json',
      hint: 'sk-…1111',
    });
    expect(auth.apiKey?.secret.reveal()).toBe(OPENAI_KEY);
    const chatgpt = auth.chatgpt;
    expect(chatgpt).toMatchObject({
      kind: 'oauth',
      provider: 'openai',
      source: 'file:auth.json',
      tier: 'pro',
      accountId: 'acct-123',
      expiresAt: null,
      hint: '…2222',
    });
    expect(chatgpt?.secret.reveal()).toBe(CHATGPT_ACCESS);
    expect(chatgpt?.refreshToken?.reveal()).toBe(CHATGPT_REFRESH);
    expect(chatgpt?.idToken.reveal()).toBe(ID_TOKEN);
    expectNoSecrets(auth);
  });

  it('should take the account id from the claims when tokens.account_id is absent', async () => {
    const fixture = codexFixture();
    fixture.tokens = { id_token: ID_TOKEN, access_token: CHATGPT_ACCESS, refresh_token: CHATGPT_REFRESH };
    writeJson(codexFile(), fixture);
    const auth = await readCodexAuth(codexHome(), { userHome: home });
    expect(auth?.chatgpt?.accountId).toBe('acct-from-claims');
  });

  it.each([
    ['null', null],
    ['an empty string', ''],
    ['missing', undefined],
  ])('should treat an OPENAI_API_KEY that is %s as unset', async (_label, value) => {
    writeJson(codexFile(), { OPENAI_API_KEY: value, tokens: null });
    const auth = await readCodexAuth(codexHome(), { userHome: home });
    expect(auth).toMatchObject({ apiKey: null, chatgpt: null, lastRefresh: null, authMode: null });
  });

  it.each([
    ['two parts', 'aaa.bbb'],
    ['a payload that is not base64url JSON', 'aaa.!!!not-base64!!!.ccc'],
    ['a payload that is a JSON array', `aaa.${b64url([1, 2])}.ccc`],
    ['a payload that is not JSON', `aaa.${Buffer.from('SECRET{not json').toString('base64url')}.ccc`],
  ])('should give plan null and a warning, not a crash, for an id_token with %s', async (_label, idToken) => {
    writeJson(codexFile(), {
      ...codexFixture(),
      tokens: { id_token: idToken, access_token: CHATGPT_ACCESS, refresh_token: CHATGPT_REFRESH },
    });
    const auth = await readCodexAuth(codexHome(), { userHome: home });
    expect(auth?.chatgpt?.tier).toBeNull();
    expect(auth?.chatgpt?.secret.reveal()).toBe(CHATGPT_ACCESS);
    expect(auth?.warnings).toHaveLength(1);
    expect(auth?.warnings[0]).toContain('id_token');
    expect(auth?.warnings[0]).toContain(codexFile());
    expectNoSecrets(auth);
  });

  it('should give plan null without a warning when the id_token has no ChatGPT claims', async () => {
    writeJson(codexFile(), {
      ...codexFixture(),
      tokens: { id_token: makeJwt({ sub: 'x' }), access_token: CHATGPT_ACCESS, refresh_token: CHATGPT_REFRESH },
    });
    const auth = await readCodexAuth(codexHome(), { userHome: home });
    expect(auth?.chatgpt?.tier).toBeNull();
    expect(auth?.warnings).toEqual([]);
  });

  it('should tolerate unknown keys at every level', async () => {
    const fixture = codexFixture();
    writeJson(codexFile(), {
      ...fixture,
      future_key: { nested: true },
      tokens: { ...(fixture.tokens as object), extra: 42 },
    });
    const auth = await readCodexAuth(codexHome(), { userHome: home });
    expect(auth?.chatgpt?.tier).toBe('pro');
    expect(auth?.apiKey?.secret.reveal()).toBe(OPENAI_KEY);
  });

  it.each([
    ['OPENAI_API_KEY', { OPENAI_API_KEY: 12345 }],
    ['tokens.access_token', { tokens: { id_token: ID_TOKEN, refresh_token: CHATGPT_REFRESH } }],
    [
      'tokens.refresh_token',
      { tokens: { id_token: ID_TOKEN, access_token: CHATGPT_ACCESS, refresh_token: ['SECRETinArray'] } },
    ],
    ['tokens', { tokens: 'SECRETtokensAsString' }],
    ['last_refresh', { last_refresh: { when: 'SECRETnested' } }],
  ])(
    'should reject a wrong %s with invalid-credentials-file naming the field and not the value',
    async (field, patch) => {
      writeJson(codexFile(), { ...codexFixture(), ...patch });
      const error = await expectError(() => readCodexAuth(codexHome(), { userHome: home }), 'invalid-credentials-file');
      expect(error.message).toContain(codexFile());
      expect(error.message).toContain(field);
      expect(error.details).toMatchObject({ file: codexFile(), reason: 'schema' });
      expect(error.details.fields).toContain(field);
    },
  );

  it('should say a missing access_token is missing', async () => {
    writeJson(codexFile(), { tokens: { id_token: ID_TOKEN, refresh_token: CHATGPT_REFRESH } });
    const error = await expectError(() => readCodexAuth(codexHome(), { userHome: home }), 'invalid-credentials-file');
    expect(error.message).toMatch(/tokens\.access_token is missing/);
  });

  it('should apply the permission policy through readJsonFile', async () => {
    writeJson(codexFile(), codexFixture(), 0o644);
    await expectError(() => readCodexAuth(codexHome(), { userHome: home }), 'insecure-permissions');
    const auth = await readCodexAuth(codexHome(), { userHome: home, permissions: 'warn' });
    expect(auth?.warnings.some((w) => w.includes('chmod 600'))).toBe(true);
    expectNoSecrets(auth);
  });

  it('should report corrupt JSON without quoting it', async () => {
    fs.mkdirSync(codexHome(), { recursive: true });
    fs.writeFileSync(codexFile(), `{"OPENAI_API_KEY": "${OPENAI_KEY}" oops}`, { mode: 0o600 });
    await expectError(() => readCodexAuth(codexHome(), { userHome: home }), 'invalid-credentials-file');
  });
});

describe('readClaudeAuth', () => {
  it('should return null when claude_auth.json is missing', async () => {
    await expect(readClaudeAuth(codexHome(), { userHome: home })).resolves.toBeNull();
  });

  it("should read the seed's shape", async () => {
    writeJson(claudeAuthFile(), claudeAuthFixture());
    const auth = await readClaudeAuth(codexHome(), { userHome: home });
    expect(auth).not.toBeNull();
    if (!auth) return;
    expect(auth.schemaVersion).toBe(CLAUDE_AUTH_SCHEMA_VERSION);
    expect(auth.apiKey).toMatchObject({
      kind: 'api-key',
      provider: 'claude',
      source: 'file:claude_auth.json',
      hint: 'sk-ant-…4444',
    });
    expect(auth.apiKey?.secret.reveal()).toBe(ANTHROPIC_KEY);
    expect(auth.oauth).toMatchObject({
      kind: 'oauth',
      provider: 'claude',
      source: 'file:claude_auth.json',
      tier: 'max',
      scopes: ['user:inference', 'user:profile'],
      expiresAt: Date.parse('2025-06-01T12:00:00Z'),
      hint: 'sk-ant-…5555',
    });
    expect(auth.oauth?.secret.reveal()).toBe(CLAUDE_ACCESS);
    expect(auth.oauth?.refreshToken?.reveal()).toBe(CLAUDE_REFRESH);
    expect(auth.subscriptionInfo).toEqual({ tier: 'max', organization: 'Example' });
    expect(auth.lastRefresh).toBe('2025-06-01T11:00:00Z');
    expect(auth.preferredMode).toBe('MaxSubscription');
    expectNoSecrets(auth);
  });

  it('should read an API-key-only file, with an empty key as unset and no refresh token as null', async () => {
    writeJson(claudeAuthFile(), {
      ANTHROPIC_API_KEY: '',
      oauth_tokens: { access_token: CLAUDE_ACCESS, expires_at: '2025-06-01T12:00:00.5', subscription_tier: 'pro' },
    });
    const auth = await readClaudeAuth(codexHome(), { userHome: home });
    expect(auth?.apiKey).toBeNull();
    expect(auth?.oauth?.refreshToken).toBeNull();
    expect(auth?.oauth?.scopes).toEqual([]);
    // A naive date-time (Python's isoformat without an offset) is taken as UTC.
    expect(auth?.oauth?.expiresAt).toBe(Date.parse('2025-06-01T12:00:00.500Z'));
    expect(auth?.subscriptionInfo).toBeNull();
    expect(auth?.preferredMode).toBeNull();
  });

  it('should accept schema_version 1 and tolerate unknown keys', async () => {
    writeJson(claudeAuthFile(), {
      ...claudeAuthFixture(),
      schema_version: 1,
      added_later: [1, 2],
      oauth_tokens: { ...(claudeAuthFixture().oauth_tokens as object), extra: 'x' },
    });
    const auth = await readClaudeAuth(codexHome(), { userHome: home });
    expect(auth?.schemaVersion).toBe(1);
    expect(auth?.oauth?.tier).toBe('max');
  });

  it('should reject a future schema_version and tell the user to upgrade', async () => {
    writeJson(claudeAuthFile(), {
      ...claudeAuthFixture(),
      schema_version: CLAUDE_AUTH_SCHEMA_VERSION + 1,
      oauth_tokens: { new_shape: true },
    });
    const error = await expectError(() => readClaudeAuth(codexHome(), { userHome: home }), 'invalid-credentials-file');
    expect(error.message).toContain(claudeAuthFile());
    expect(error.message).toMatch(/upgrade agentvisor/i);
    expect(error.details).toMatchObject({
      reason: 'schema-version-too-new',
      schemaVersion: CLAUDE_AUTH_SCHEMA_VERSION + 1,
      supportedSchemaVersion: CLAUDE_AUTH_SCHEMA_VERSION,
    });
  });

  it.each([
    ['schema_version', { schema_version: 'one' }],
    ['schema_version', { schema_version: 0 }],
    ['ANTHROPIC_API_KEY', { ANTHROPIC_API_KEY: true }],
    [
      'oauth_tokens.access_token',
      { oauth_tokens: { refresh_token: CLAUDE_REFRESH, expires_at: '2025-06-01T12:00:00Z' } },
    ],
    ['oauth_tokens.expires_at', { oauth_tokens: { access_token: CLAUDE_ACCESS, expires_at: 'SECRETnotAdate' } }],
    ['oauth_tokens.expires_at', { oauth_tokens: { access_token: CLAUDE_ACCESS, expires_at: '2025-02-30T12:00:00Z' } }],
    ['oauth_tokens.expires_at', { oauth_tokens: { access_token: CLAUDE_ACCESS, expires_at: 1748779200 } }],
    ['oauth_tokens.subscription_tier', { oauth_tokens: { access_token: CLAUDE_ACCESS, subscription_tier: 5 } }],
    ['subscription_info', { subscription_info: 'SECRETinfo' }],
    ['preferred_mode', { preferred_mode: ['SECRETmode'] }],
  ])('should reject a wrong %s with invalid-credentials-file naming the field', async (field, patch) => {
    writeJson(claudeAuthFile(), { ...claudeAuthFixture(), ...patch });
    const error = await expectError(() => readClaudeAuth(codexHome(), { userHome: home }), 'invalid-credentials-file');
    expect(error.message).toContain(claudeAuthFile());
    expect(error.message).toContain(field);
    expect(error.details.fields).toContain(field);
  });

  it('should name every wrong field at once', async () => {
    writeJson(claudeAuthFile(), {
      ANTHROPIC_API_KEY: 1,
      oauth_tokens: { access_token: CLAUDE_ACCESS, expires_at: 'never' },
    });
    const error = await expectError(() => readClaudeAuth(codexHome(), { userHome: home }), 'invalid-credentials-file');
    expect(error.details.fields).toEqual(expect.arrayContaining(['ANTHROPIC_API_KEY', 'oauth_tokens.expires_at']));
    expect(error.message).toContain('is not an RFC 3339 date-time');
  });
});

describe('readClaudeCodeCredentials', () => {
  it('should return null when .credentials.json is missing', async () => {
    await expect(readClaudeCodeCredentials(claudeHome(), { userHome: home })).resolves.toBeNull();
  });

  it('should default claudeHome to ~/.claude', () => {
    expect(defaultClaudeHome({}, '/home/someone')).toBe(path.join('/home/someone', '.claude'));
    expect(defaultClaudeHome({ CLAUDE_CONFIG_DIR: '/srv/claude' }, '/home/someone')).toBe('/srv/claude');
    expect(defaultClaudeHome({ CLAUDE_CONFIG_DIR: ' ' }, '/home/someone')).toBe(path.join('/home/someone', '.claude'));
  });

  it("should read Claude Code's claudeAiOauth and tolerate other keys such as mcpOAuth", async () => {
    writeJson(claudeCodeFile(), claudeCodeFixture());
    const creds = await readClaudeCodeCredentials(claudeHome(), { userHome: home });
    expect(creds?.file).toBe(claudeCodeFile());
    expect(creds?.oauth).toMatchObject({
      kind: 'oauth',
      provider: 'claude',
      source: 'file:.credentials.json',
      expiresAt: 1_748_779_200_000,
      tier: 'max',
      scopes: ['user:inference', 'user:profile'],
      rateLimitTier: 'default_claude_max_20x',
      hint: 'sk-ant-…5555',
    });
    expect(creds?.oauth?.secret.reveal()).toBe(CLAUDE_ACCESS);
    expect(creds?.oauth?.refreshToken?.reveal()).toBe(CLAUDE_REFRESH);
    expectNoSecrets(creds);
  });

  it('should give oauth null for a file without a login or with an empty access token', async () => {
    writeJson(claudeCodeFile(), { mcpOAuth: {} });
    await expect(readClaudeCodeCredentials(claudeHome(), { userHome: home })).resolves.toMatchObject({ oauth: null });
    writeJson(claudeCodeFile(), { claudeAiOauth: { accessToken: '', refreshToken: CLAUDE_REFRESH, expiresAt: 1 } });
    const creds = await readClaudeCodeCredentials(claudeHome(), { userHome: home });
    expect(creds?.oauth).toBeNull();
    expectNoSecrets(creds);
  });

  it.each([
    ['claudeAiOauth.accessToken', { refreshToken: CLAUDE_REFRESH, expiresAt: 1 }],
    ['claudeAiOauth.expiresAt', { accessToken: CLAUDE_ACCESS, expiresAt: '2025-06-01T12:00:00Z' }],
    ['claudeAiOauth.scopes[1]', { accessToken: CLAUDE_ACCESS, scopes: ['user:inference', 7] }],
    ['claudeAiOauth.subscriptionType', { accessToken: CLAUDE_ACCESS, subscriptionType: { SECRET: 1 } }],
  ])('should reject a wrong %s with invalid-credentials-file naming the field', async (field, login) => {
    writeJson(claudeCodeFile(), { claudeAiOauth: login });
    const error = await expectError(
      () => readClaudeCodeCredentials(claudeHome(), { userHome: home }),
      'invalid-credentials-file',
    );
    expect(error.message).toContain(claudeCodeFile());
    expect(error.message).toContain(field);
    expect(error.details.fields).toContain(field);
  });
});

describe('decodeJwtClaims', () => {
  it('should decode the payload of a JWT and refuse anything else', () => {
    expect(decodeJwtClaims(ID_TOKEN)).toMatchObject({ exp: 1_900_000_000 });
    expect(decodeJwtClaims('')).toBeNull();
    expect(decodeJwtClaims('a..c')).toBeNull();
    expect(decodeJwtClaims(`a.${b64url('text')}.c`)).toBeNull();
  });
});

describe('the secret scan itself', () => {
  it('should catch a secret in a plain value, so the scans above are not vacuous', () => {
    expect(() => expectNoSecrets({ key: OPENAI_KEY })).toThrow();
    expect(() => expectNoSecrets(new Error(`bad ${CLAUDE_REFRESH}`))).toThrow();
  });
});

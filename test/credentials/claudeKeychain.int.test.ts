/**
 * Claude Code's macOS Keychain login, read through a fake `security` on PATH (a shell script that
 * answers as macOS's does: the item on stdout, or an error on stderr with the errSec exit code),
 * with the platform injected as 'darwin'. Nothing here reads a real Keychain.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import type { AuthInput } from '../../machines/agentSession.types';
import { createCredentialResolver } from '../../src/credentials/credentialResolver';
import type { CredentialResolverOptions } from '../../src/credentials/credentialResolver';
import { rankProviders } from '../../src/credentials/providerPriority';
import { claudeCodeKeychainItem, readClaudeCodeKeychain } from '../../src/credentials/sources/claudeCodeKeychain';
import { isAgentvisorError } from '../../src/errors';
import { newToken, startFakeOAuthServer } from '../helpers/fakeOAuthServer';

const FAKE_SECURITY = `#!/bin/sh
dir=$(dirname "$0")
printf '%s\\n' "$@" > "$dir/args"
env > "$dir/env"
case "$(cat "$dir/mode")" in
  found) cat "$dir/item"; exit 0 ;;
  missing) echo 'security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.' >&2; exit 44 ;;
  locked) echo 'security: SecKeychainSearchCopyNext: User interaction is not allowed.' >&2; exit 36 ;;
  denied) echo 'security: SecKeychainItemCopyContent: The user name or passphrase you entered is not correct.' >&2; exit 51 ;;
  hang) echo $$ > "$dir/pid"; exec sleep 30 ;;
  *) echo 'security: unexpected' >&2; exit 1 ;;
esac
`;

let dir: string;
let bin: string;
let claudeHome: string;
let access: string;
let refresh: string;
let texts: string[];

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'claude-keychain-')));
  bin = path.join(dir, 'bin');
  claudeHome = path.join(dir, '.claude');
  fs.mkdirSync(bin);
  fs.mkdirSync(claudeHome);
  fs.writeFileSync(path.join(bin, 'security'), FAKE_SECURITY, { mode: 0o755 });
  access = newToken('oat');
  refresh = newToken('ort');
  texts = [];
});

afterEach(() => {
  // No token in any message, warning, problem or description the tests looked at.
  for (const text of texts) {
    expect(text.includes(access)).toBe(false);
    expect(text.includes(refresh)).toBe(false);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function keychainHolds(mode: string, item?: string): void {
  fs.writeFileSync(path.join(bin, 'mode'), mode);
  if (item !== undefined) fs.writeFileSync(path.join(bin, 'item'), item);
}

const login = (over: Record<string, unknown> = {}) => ({
  claudeAiOauth: {
    accessToken: access,
    refreshToken: refresh,
    expiresAt: Date.now() + 3_600_000,
    scopes: ['user:inference', 'user:profile'],
    subscriptionType: 'max',
    rateLimitTier: 'default_claude_max_20x',
    ...over,
  },
  mcpOAuth: { other: 'kept' },
});

const env = (extra: Record<string, string> = {}) => ({
  PATH: `${bin}:${process.env.PATH ?? ''}`,
  USER: 'dev.user',
  ...extra,
});

async function loaded(options: Partial<CredentialResolverOptions> = {}) {
  const resolver = createCredentialResolver({
    env: env(),
    home: path.join(dir, '.codex'),
    claudeHome,
    sources: ['claude-code'],
    platform: 'darwin',
    ...options,
  });
  const report = await resolver.load();
  texts.push(util.inspect(report, { depth: 5 }), JSON.stringify(resolver.describe('claude')));
  return { resolver, report };
}

const claudeSession: AuthInput = { provider: 'claude', sessionId: 's-1', agentId: 'a-1' };

const calledWith = (): string[] => fs.readFileSync(path.join(bin, 'args'), 'utf8').trim().split('\n');

describe('claudeCodeKeychainItem', () => {
  it("should name the item as Claude Code does: the config folder's hash when CLAUDE_CONFIG_DIR is set, $USER or claude-code-user", () => {
    expect(claudeCodeKeychainItem({ USER: 'dev.user' })).toEqual({
      service: 'Claude Code-credentials',
      account: 'dev.user',
    });
    const configDir = path.join(dir, 'claude-config');
    const hash = createHash('sha256').update(configDir).digest('hex').slice(0, 8);
    expect(claudeCodeKeychainItem({ USER: 'dev.user', CLAUDE_CONFIG_DIR: configDir })).toEqual({
      service: `Claude Code-credentials-${hash}`,
      account: 'dev.user',
    });
    expect(claudeCodeKeychainItem({ USER: 'dev user' }).account).toBe('claude-code-user');
  });
});

describe("Claude Code's Keychain login (darwin)", () => {
  it('should read the item with `security find-generic-password -a <user> -w -s <service>` and rank a Max login as Max', async () => {
    keychainHolds('found', JSON.stringify(login()));
    const { resolver, report } = await loaded();
    expect(calledWith()).toEqual(['find-generic-password', '-a', 'dev.user', '-w', '-s', 'Claude Code-credentials']);
    expect(report).toEqual({ warnings: [], problems: [] });
    expect(resolver.describe('claude')).toMatchObject({
      kind: 'oauth',
      source: 'keychain:Claude Code-credentials',
      tier: 'max',
      credentialClass: 'claude-max',
    });
    expect(
      rankProviders('subscription', { claude: resolver.credentialClass('claude'), openai: 'chatgpt' }, [
        'openai',
        'claude',
      ]),
    ).toEqual(['claude', 'openai']);
    const auth = await resolver.authenticate(claudeSession);
    expect(auth.secretEnv.CLAUDE_CODE_OAUTH_TOKEN?.reveal()).toBe(access);
  });

  it('should read a hex-encoded item (macOS 26), and the suffixed item under CLAUDE_CONFIG_DIR, with no credential passed to security', async () => {
    keychainHolds('found', Buffer.from(JSON.stringify(login({ subscriptionType: 'pro' }))).toString('hex'));
    const configDir = path.join(dir, 'claude-config');
    // `security` gets no credential of ours through its environment.
    const { resolver } = await loaded({
      env: env({ CLAUDE_CONFIG_DIR: configDir, ANTHROPIC_API_KEY: 'SECRET_OF_HOST' }),
    });
    const service = `Claude Code-credentials-${createHash('sha256').update(configDir).digest('hex').slice(0, 8)}`;
    expect(calledWith()).toEqual(['find-generic-password', '-a', 'dev.user', '-w', '-s', service]);
    expect(resolver.describe('claude')).toMatchObject({
      source: `keychain:${service}`,
      tier: 'pro',
      credentialClass: 'claude-pro',
    });
    expect(fs.readFileSync(path.join(bin, 'env'), 'utf8')).not.toContain('SECRET_OF_HOST');
  });

  it('should fall back to ~/.claude/.credentials.json when there is no Keychain item, quietly', async () => {
    keychainHolds('missing');
    expect(await readClaudeCodeKeychain({ env: env() })).toMatchObject({
      status: 'missing',
      service: 'Claude Code-credentials',
      account: 'dev.user',
    });
    const { resolver: empty, report: nothing } = await loaded();
    expect(empty.describe('claude')).toBeNull();
    expect(nothing).toEqual({ warnings: [], problems: [] });
    fs.writeFileSync(path.join(claudeHome, '.credentials.json'), JSON.stringify(login({ subscriptionType: 'max' })), {
      mode: 0o600,
    });
    const { resolver, report } = await loaded();
    expect(report).toEqual({ warnings: [], problems: [] });
    expect(resolver.describe('claude')).toMatchObject({
      source: 'file:.credentials.json',
      credentialClass: 'claude-max',
    });
  });

  it.each([
    ['locked', 'credentials-io', /locked and cannot ask for its password here \(exit 36\)/],
    ['denied', 'credentials-io', /was denied \(exit 51\).*Always Allow/],
    ['broken', 'credentials-io', /failed \(exit 1\)/],
  ])(
    'should report a %s Keychain as a problem of the claude-code source, and use the file if there is one',
    async (mode, code, message) => {
      keychainHolds(mode);
      const { resolver, report } = await loaded();
      expect(resolver.describe('claude')).toBeNull();
      expect(report.problems).toEqual([{ source: 'claude-code', code, message: expect.stringMatching(message) }]);
      fs.writeFileSync(path.join(claudeHome, '.credentials.json'), JSON.stringify(login()), { mode: 0o600 });
      const withFile = await loaded();
      expect(withFile.resolver.describe('claude')).toMatchObject({ source: 'file:.credentials.json' });
      expect(withFile.report.problems).toEqual([]);
      expect(withFile.report.warnings).toEqual([expect.stringMatching(message)]);
    },
  );

  it('should say so when the item is not JSON', async () => {
    keychainHolds('found', 'not json at all');
    expect(await readClaudeCodeKeychain({ env: env() })).toMatchObject({
      status: 'unreadable',
      message: expect.stringContaining('does not hold a JSON object'),
    });
  });

  it('should stop a security that never answers (a prompt nobody sees) after keychainTimeoutMs, and kill it', async () => {
    keychainHolds('hang');
    const started = Date.now();
    const { report } = await loaded({ keychainTimeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(report.problems).toEqual([
      {
        source: 'claude-code',
        code: 'credentials-io',
        message: expect.stringContaining('got no answer within 300 ms'),
      },
    ]);
    const pid = Number(fs.readFileSync(path.join(bin, 'pid'), 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('should say when there is no security command, and never call it off macOS', async () => {
    expect(await readClaudeCodeKeychain({ env: { PATH: path.join(dir, 'empty'), USER: 'dev.user' } })).toMatchObject({
      status: 'unavailable',
    });
    keychainHolds('found', JSON.stringify(login()));
    const { resolver } = await loaded({ platform: 'linux' });
    expect(resolver.describe('claude')).toBeNull();
    expect(fs.existsSync(path.join(bin, 'args'))).toBe(false);
  });

  it('should never refresh a Keychain login: an expired one is passed over with what to do, refreshClaudeCode warns, no token request is made', async () => {
    const oauth = await startFakeOAuthServer();
    try {
      oauth.allow(refresh);
      keychainHolds('found', JSON.stringify(login({ expiresAt: Date.now() - 60_000 })));
      const { resolver, report } = await loaded({ oauth: { refreshClaudeCode: true, tokenEndpoint: oauth.url } });
      expect(report.warnings).toEqual([
        expect.stringContaining('agentvisor does not write to the Keychain; Claude Code renews that login itself'),
      ]);
      const error = await Promise.resolve()
        .then(() => resolver.authenticate(claudeSession))
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isAgentvisorError(error, 'auth-failed')).toBe(true);
      texts.push((error as Error).message);
      expect((error as Error).message).toContain(
        'agentvisor does not write to the Keychain: run `claude` once so Claude Code renews it',
      );
      expect(oauth.requests).toEqual([]);
      expect(calledWith()[0]).toBe('find-generic-password');
    } finally {
      await oauth.close();
    }
  });
});

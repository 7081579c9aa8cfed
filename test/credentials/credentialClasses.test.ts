import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCredentialResolver } from '../../src/credentials';
import { T0 } from '../helpers/timeOrigin';

describe('credentialClasses', () => {
  it('should keep one object while nothing changes, and a new one when the env, the files or an expiry change it', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'classes-'));
    const claudeHome = fs.mkdtempSync(path.join(os.tmpdir(), 'classes-claude-'));
    let now = T0;
    const env: Record<string, string | undefined> = { OPENAI_API_KEY: 'sk-proj-CLASSEStestKEY-0001' };
    fs.writeFileSync(
      path.join(claudeHome, '.credentials.json'),
      JSON.stringify({
        claudeAiOauth: {
          accessToken: 'sk-ant-oat01-CLASSEStest-0002',
          refreshToken: 'sk-ant-ort01-CLASSEStest-0003',
          expiresAt: now + 60 * 60_000,
          subscriptionType: 'max',
        },
      }),
      { mode: 0o600 },
    );
    const resolver = createCredentialResolver({ env, home, claudeHome, now: () => now });
    await resolver.load();
    const first = resolver.credentialClasses();
    expect(first).toEqual({ claude: 'claude-max', openai: 'openai-api-key' });
    expect(resolver.credentialClasses()).toBe(first);
    env.ANTHROPIC_API_KEY = 'sk-ant-api03-CLASSEStestKEY-0004';
    const withKey = resolver.credentialClasses();
    expect(withKey).not.toBe(first);
    expect(withKey).toEqual({ claude: 'claude-api-key', openai: 'openai-api-key' });
    delete env.ANTHROPIC_API_KEY;
    expect(resolver.credentialClasses()).toEqual({ claude: 'claude-max', openai: 'openai-api-key' });
    // Claude Code's file is not refreshed without the opt-in: once expired, the login is passed over.
    now += 2 * 60 * 60_000;
    expect(resolver.credentialClasses()).toEqual({ claude: null, openai: 'openai-api-key' });
    fs.rmSync(path.join(claudeHome, '.credentials.json'));
    await resolver.load();
    expect(resolver.credentialClasses()).toEqual({ claude: null, openai: 'openai-api-key' });
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(claudeHome, { recursive: true, force: true });
  });
});

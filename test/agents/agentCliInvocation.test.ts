import fs from 'node:fs';
import path from 'node:path';
import {
  CLAUDE_WORKSPACE_SETTINGS,
  agentPath,
  claudeCodeInvocation,
  codexInvocation,
  codexProviderOverrides,
  createAgentHome,
} from '../../src/agents';
import type { AgentHome, SandboxMode } from '../../src/agents';
import { isAgentvisorError } from '../../src/errors';

const NODE_DIR = path.dirname(process.execPath);
const HOST = { PATH: '/opt/one:/opt/two', SECRET_HOST_VARIABLE: 'never-passed' };
const SESSION = {
  ANTHROPIC_API_KEY: 'sk-ant-api03-unit-test-key-0000000000000000',
  CLAUDE_API_KEY: 'sk-ant-api03-unit-test-key-0000000000000000',
  ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000',
  AGENTVISOR_SESSION_ID: 's1',
  AGENTVISOR_AGENT_ID: 'a1',
  DISABLE_TELEMETRY: '1',
};

let home: AgentHome;
beforeEach(() => {
  home = createAgentHome();
});
afterEach(() => {
  home.remove();
});

describe('createAgentHome', () => {
  it('should create HOME, CLAUDE_CONFIG_DIR and CODEX_HOME, every folder 0700, and remove them all', () => {
    for (const dir of [home.root, home.home, home.claudeConfigDir, home.codexHome])
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(home.claudeConfigDir).toBe(path.join(home.home, '.claude'));
    expect(home.codexHome).toBe(path.join(home.home, '.codex'));
    home.remove();
    expect(fs.existsSync(home.root)).toBe(false);
    home.remove();
  });
});

describe('agentPath', () => {
  it("should put node's folder first, then the session's PATH when it has one, else the host's", () => {
    expect(agentPath({}, HOST)).toBe(`${NODE_DIR}:/opt/one:/opt/two`);
    expect(agentPath({ PATH: `/opt/tools:${NODE_DIR}` }, HOST)).toBe(`${NODE_DIR}:/opt/tools`);
  });
});

describe('claudeCodeInvocation', () => {
  it(
    'should run claude -p with streamed JSON output, workspace-write permissions, the task after --, ' +
      'and exactly the session env plus PATH, its homes and the retry bound',
    () => {
      const { args, env } = claudeCodeInvocation({ task: '--help me', agentEnv: SESSION, home, hostEnv: HOST });
      expect(args).toEqual([
        '-p',
        '--verbose',
        '--output-format',
        'stream-json',
        '--include-partial-messages',
        '--permission-mode',
        'acceptEdits',
        '--settings',
        CLAUDE_WORKSPACE_SETTINGS,
        '--',
        '--help me',
      ]);
      expect(env).toEqual({
        ...SESSION,
        PATH: `${NODE_DIR}:/opt/one:/opt/two`,
        HOME: home.home,
        CLAUDE_CONFIG_DIR: home.claudeConfigDir,
        TMPDIR: home.tmpDir,
        CLAUDE_CODE_MAX_RETRIES: '0',
      });
    },
  );

  it('should give Claude Code a login as CLAUDE_CODE_OAUTH_TOKEN only: with ANTHROPIC_AUTH_TOKEN beside it, it would drop the oauth beta', () => {
    const token = 'sk-ant-oat01-unit-test-token-000000000000000';
    const login = {
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000',
      CLAUDE_CODE_OAUTH_TOKEN: token,
      ANTHROPIC_AUTH_TOKEN: token,
    };
    const { env } = claudeCodeInvocation({ task: 't', agentEnv: login, home, hostEnv: HOST });
    expect(env.CLAUDE_CODE_OAUTH_TOKEN).toBe(token);
    expect(env).not.toHaveProperty('ANTHROPIC_AUTH_TOKEN');
    // Without a login beside it, the variable is the session's to pass on.
    expect(
      claudeCodeInvocation({ task: 't', agentEnv: { ANTHROPIC_AUTH_TOKEN: token }, home, hostEnv: HOST }).env
        .ANTHROPIC_AUTH_TOKEN,
    ).toBe(token);
  });

  it('should map each sandbox mode to its permission flags', () => {
    const flags = (sandbox: SandboxMode): string[] =>
      claudeCodeInvocation({ task: 't', agentEnv: SESSION, home, hostEnv: HOST, sandbox }).args.slice(5, -2);
    expect(flags('read-only')).toEqual(['--permission-mode', 'default']);
    expect(flags('workspace-write')).toEqual([
      '--permission-mode',
      'acceptEdits',
      '--settings',
      '{"sandbox":{"enabled":true,"autoAllowBashIfSandboxed":true}}',
    ]);
    expect(flags('full-access')).toEqual(['--permission-mode', 'bypassPermissions']);
  });

  it('should take a bounded CLAUDE_CODE_MAX_RETRIES and refuse anything else', () => {
    expect(
      claudeCodeInvocation({ task: 't', agentEnv: SESSION, home, hostEnv: HOST, maxRetries: 3 }).env
        .CLAUDE_CODE_MAX_RETRIES,
    ).toBe('3');
    for (const bad of [-1, 11, 1.5]) {
      let caught: unknown;
      try {
        claudeCodeInvocation({ task: 't', agentEnv: SESSION, home, hostEnv: HOST, maxRetries: bad });
      } catch (error) {
        caught = error;
      }
      expect(isAgentvisorError(caught, 'invalid-option')).toBe(true);
    }
  });
});

describe('codexProviderOverrides', () => {
  it('should define the agentvisor provider with the key variable, the Responses API and no retries of its own', () => {
    expect(codexProviderOverrides('http://127.0.0.1:4000/v1', { envKey: 'OPENAI_API_KEY' })).toEqual([
      '-c',
      'model_provider=agentvisor',
      '-c',
      'model_providers.agentvisor={name="agentvisor",base_url="http://127.0.0.1:4000/v1",env_key="OPENAI_API_KEY",' +
        'wire_api="responses",request_max_retries=0,stream_max_retries=0}',
    ]);
    expect(codexProviderOverrides('http://h/v1', { requiresOpenAiAuth: true })[3]).toBe(
      'model_providers.agentvisor={name="agentvisor",base_url="http://h/v1",requires_openai_auth=true,' +
        'wire_api="responses",request_max_retries=0,stream_max_retries=0}',
    );
  });

  it('should quote a URL as a TOML string, so quotes in it cannot end the value', () => {
    expect(codexProviderOverrides('http://h/v1",env_key="X', { envKey: 'OPENAI_API_KEY' })[3]).toContain(
      'base_url="http://h/v1\\",env_key=\\"X"',
    );
  });
});

describe('codexInvocation', () => {
  const openaiSession = { OPENAI_API_KEY: 'sk-proj-unit-test-key-00000000000000', AGENTVISOR_SESSION_ID: 's1' };

  it('should translate OPENAI_BASE_URL into the provider overrides, put the task after -- and give CODEX_HOME', () => {
    const { args, env } = codexInvocation({
      task: 'fix it',
      agentEnv: { ...openaiSession, OPENAI_BASE_URL: 'http://127.0.0.1:5000/v1' },
      home,
      hostEnv: HOST,
    });
    expect(args).toEqual([
      'exec',
      '--skip-git-repo-check',
      '--json',
      '--sandbox',
      'workspace-write',
      '-c',
      'sandbox_workspace_write.exclude_slash_tmp=true',
      ...codexProviderOverrides('http://127.0.0.1:5000/v1', { envKey: 'OPENAI_API_KEY' }),
      '--',
      'fix it',
    ]);
    expect(env).toEqual({
      ...openaiSession,
      OPENAI_BASE_URL: 'http://127.0.0.1:5000/v1',
      PATH: `${NODE_DIR}:/opt/one:/opt/two`,
      HOME: home.home,
      CODEX_HOME: home.codexHome,
      TMPDIR: home.tmpDir,
    });
    expect(fs.readdirSync(home.codexHome)).toEqual([]);
  });

  it('should send an API key session without a base URL to api.openai.com through the same provider (no Codex retries)', () => {
    const { args } = codexInvocation({ task: 't', agentEnv: openaiSession, home, hostEnv: HOST });
    expect(args).toContain(
      'model_providers.agentvisor={name="agentvisor",base_url="https://api.openai.com/v1",env_key="OPENAI_API_KEY",' +
        'wire_api="responses",request_max_retries=0,stream_max_retries=0}',
    );
  });

  it('should write a ChatGPT session into CODEX_HOME/auth.json (0600, no refresh token) and use Codex login with the base URL', () => {
    const chatgpt = {
      AGENTVISOR_CHATGPT_ACCESS_TOKEN: 'eyJ.access.token',
      AGENTVISOR_CHATGPT_ID_TOKEN: 'eyJ.id.token',
      AGENTVISOR_CHATGPT_ACCOUNT_ID: 'acct-9',
      OPENAI_BASE_URL: 'http://127.0.0.1:6000/v1',
    };
    // Every field different, so last_refresh shows each one in its place.
    const now = Date.UTC(2026, 0, 2, 3, 4, 5);
    const { args } = codexInvocation({ task: 't', agentEnv: chatgpt, home, hostEnv: HOST, now });
    expect(args).toEqual([
      'exec',
      '--skip-git-repo-check',
      '--json',
      '--sandbox',
      'workspace-write',
      '-c',
      'sandbox_workspace_write.exclude_slash_tmp=true',
      '-c',
      'features.apps=false',
      ...codexProviderOverrides('http://127.0.0.1:6000/v1', { requiresOpenAiAuth: true }),
      '--',
      't',
    ]);
    const file = path.join(home.codexHome, 'auth.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
      auth_mode: 'chatgpt',
      OPENAI_API_KEY: null,
      tokens: { id_token: 'eyJ.id.token', access_token: 'eyJ.access.token', refresh_token: '', account_id: 'acct-9' },
      last_refresh: '2026-01-02T03:04:05.000Z',
    });
    // A rerun (retry) rewrites it.
    codexInvocation({ task: 't', agentEnv: chatgpt, home, hostEnv: HOST, now });
    expect(fs.readdirSync(home.codexHome)).toEqual(['auth.json']);
  });

  it("should leave a ChatGPT session without a base URL on Codex's own backend (no overrides)", () => {
    const { args } = codexInvocation({
      task: 't',
      agentEnv: { AGENTVISOR_CHATGPT_ACCESS_TOKEN: 'eyJ.a', AGENTVISOR_CHATGPT_ID_TOKEN: 'eyJ.i' },
      home,
      hostEnv: HOST,
    });
    expect(args).toEqual([
      'exec',
      '--skip-git-repo-check',
      '--json',
      '--sandbox',
      'workspace-write',
      '-c',
      'sandbox_workspace_write.exclude_slash_tmp=true',
      '--',
      't',
    ]);
  });

  it('should map each sandbox mode to its Codex sandbox flags', () => {
    const flags = (sandbox: SandboxMode): string[] =>
      codexInvocation({
        task: 't',
        agentEnv: { AGENTVISOR_CHATGPT_ACCESS_TOKEN: 'eyJ.a', AGENTVISOR_CHATGPT_ID_TOKEN: 'eyJ.i' },
        home,
        hostEnv: HOST,
        sandbox,
      }).args.slice(3, -2);
    expect(flags('read-only')).toEqual(['--sandbox', 'read-only']);
    expect(flags('workspace-write')).toEqual([
      '--sandbox',
      'workspace-write',
      '-c',
      'sandbox_workspace_write.exclude_slash_tmp=true',
    ]);
    expect(flags('full-access')).toEqual(['--dangerously-bypass-approvals-and-sandbox']);
  });
});

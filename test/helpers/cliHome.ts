/**
 * Hermetic homes and minimal environments for running the real agent CLIs (claude, codex) in tests:
 * a fresh temp folder per run, no inherited variables (so no real key can leak in), the quiet
 * variables agentvisor gives every agent, and the binaries from node_modules/.bin.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AGENT_QUIET_ENV } from '../../src/providers';

const root = path.join(__dirname, '..', '..');

export const AGENT_CLIS = { claude: '@anthropic-ai/claude-code', codex: '@openai/codex' } as const;
export type AgentCli = keyof typeof AGENT_CLIS;

/**
 * The CLI's path in node_modules/.bin. Throws (never skips) when it is missing: CI installs the
 * devDependencies, so a missing binary is a broken install.
 */
export function agentBin(name: AgentCli): string {
  const bin = path.join(root, 'node_modules', '.bin', name);
  if (!fs.existsSync(bin)) {
    throw new Error(
      `${name} is not installed at ${bin}: run \`npm ci\` (it is the devDependency ${AGENT_CLIS[name]}); the real-CLI tests do not skip`,
    );
  }
  return bin;
}

export interface CliHome {
  readonly dir: string;
  /** HOME; Claude Code writes `.claude.json` and `.claude/` here. */
  readonly home: string;
  /** CODEX_HOME, created (Codex refuses a missing folder). */
  readonly codexHome: string;
  /** CLAUDE_CONFIG_DIR. */
  readonly claudeConfigDir: string;
  /** The working directory for the agent: an empty project folder. */
  readonly workdir: string;
  cleanup(): void;
}

export function makeCliHome(prefix = 'agent-cli-'): CliHome {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  const paths = {
    home: path.join(dir, 'home'),
    codexHome: path.join(dir, 'home', '.codex'),
    claudeConfigDir: path.join(dir, 'home', '.claude'),
    workdir: path.join(dir, 'work'),
  };
  for (const folder of Object.values(paths)) fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  return { dir, ...paths, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The whole environment of an agent run: PATH (node's folder first: codex's launcher is a node
 * script), the homes, the quiet variables, and `extra` (credentials, base URLs). Nothing else.
 */
export function agentEnv(home: CliHome, extra: Readonly<Record<string, string>>): Record<string, string> {
  return {
    PATH: [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    HOME: home.home,
    CODEX_HOME: home.codexHome,
    CLAUDE_CONFIG_DIR: home.claudeConfigDir,
    ...AGENT_QUIET_ENV,
    ...extra,
  };
}

/**
 * `-c` overrides that send Codex to another Responses API location (it ignores OPENAI_BASE_URL).
 * With `envKey` the key comes from that variable; with `requiresOpenAiAuth` Codex uses its own
 * login from `$CODEX_HOME/auth.json` (a ChatGPT login: Bearer access token plus `chatgpt-account-id`).
 */
export function codexProviderArgs(baseUrl: string, auth: { envKey: string } | { requiresOpenAiAuth: true }): string[] {
  const credential = 'envKey' in auth ? `env_key="${auth.envKey}"` : 'requires_openai_auth=true';
  return [
    '-c',
    'model_provider=agentvisor',
    '-c',
    `model_providers.agentvisor={name="agentvisor",base_url="${baseUrl}",${credential},wire_api="responses",request_max_retries=0,stream_max_retries=0}`,
  ];
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An unsigned JWT with the claims Codex reads; only for fakes, which never check signatures. */
export function fakeJwt(claims: Record<string, unknown>): string {
  return `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url(claims)}.${Buffer.from('fake-signature').toString('base64url')}`;
}

export interface ChatGptLogin {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly accountId: string;
}

/** Writes a Codex ChatGPT login (`auth_mode: chatgpt`, fresh tokens) to `$CODEX_HOME/auth.json`, mode 0600. */
export function writeChatGptLogin(home: CliHome, accountId: string): ChatGptLogin {
  const now = Math.floor(Date.now() / 1000);
  const auth = { chatgpt_plan_type: 'plus', chatgpt_account_id: accountId, chatgpt_user_id: 'user-fake' };
  const idToken = fakeJwt({
    iss: 'https://auth.openai.com',
    exp: now + 3600,
    iat: now,
    email: 'agent@example.com',
    'https://api.openai.com/auth': auth,
  });
  const accessToken = fakeJwt({ exp: now + 3600, 'https://api.openai.com/auth': { chatgpt_account_id: accountId } });
  const login = { accessToken, refreshToken: `rt-fake-${'r'.repeat(40)}`, accountId };
  const file = {
    auth_mode: 'chatgpt',
    OPENAI_API_KEY: null,
    tokens: { id_token: idToken, access_token: accessToken, refresh_token: login.refreshToken, account_id: accountId },
    last_refresh: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(home.codexHome, 'auth.json'), JSON.stringify(file), { mode: 0o600 });
  return login;
}

/** Runs `tasks` with at most `concurrency` at a time; results in input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

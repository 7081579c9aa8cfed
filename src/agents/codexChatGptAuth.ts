import fs from 'node:fs';
import path from 'node:path';
import { CHATGPT_ENV } from '../credentials';

/** The ChatGPT login a session carries (`AGENTVISOR_CHATGPT_*`), or null when it runs on an API key. */
export interface ChatGptSessionLogin {
  readonly accessToken: string;
  readonly idToken: string | null;
  readonly accountId: string | null;
}

/**
 * The ChatGPT login in a session env, when the session has one and no `OPENAI_API_KEY`.
 *
 * @example chatGptLoginFromEnv(agent.env)?.accountId // 'acct-…'
 */
export function chatGptLoginFromEnv(agentEnv: Readonly<Record<string, string>>): ChatGptSessionLogin | null {
  const accessToken = agentEnv[CHATGPT_ENV.accessToken];
  if (accessToken === undefined || accessToken === '' || (agentEnv.OPENAI_API_KEY ?? '') !== '') return null;
  const idToken = agentEnv[CHATGPT_ENV.idToken];
  const accountId = agentEnv[CHATGPT_ENV.accountId];
  return {
    accessToken,
    idToken: idToken === undefined || idToken === '' ? null : idToken,
    accountId: accountId === undefined || accountId === '' ? null : accountId,
  };
}

/**
 * Writes the session's ChatGPT login into the agent's own `CODEX_HOME/auth.json` (mode 0600, a
 * new file), in Codex's format, so Codex uses it. The refresh token is never handed to agents:
 * `refresh_token` is written empty (Codex ignores a `tokens` object that lacks the field) and
 * `last_refresh` is now, so Codex does not try to refresh; agentvisor refreshes the user's login
 * and gives each new session a fresh access token. Returns the file's path.
 *
 * @example writeCodexChatGptAuth(home.codexHome, chatGptLoginFromEnv(agent.env)!, Date.now())
 */
export function writeCodexChatGptAuth(codexHome: string, login: ChatGptSessionLogin, now: number): string {
  const file = path.join(codexHome, 'auth.json');
  const content = {
    auth_mode: 'chatgpt',
    OPENAI_API_KEY: null,
    tokens: {
      id_token: login.idToken ?? '',
      access_token: login.accessToken,
      refresh_token: '',
      ...(login.accountId === null ? {} : { account_id: login.accountId }),
    },
    last_refresh: new Date(now).toISOString(),
  };
  // A previous run of the same task (a retry) may have written it: replace it, still 0600.
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, `${JSON.stringify(content)}\n`, { mode: 0o600, flag: 'wx' });
  return file;
}

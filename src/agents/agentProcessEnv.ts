import path from 'node:path';

/**
 * The PATH an agent CLI runs with: the session env's own PATH when the host passed one through
 * (`envPassthrough`), else this process's PATH; node's folder first either way, because Codex's
 * launcher is a node script (`#!/usr/bin/env node`).
 *
 * @example agentPath({}, { PATH: '/usr/bin:/bin' }) // '/opt/node/bin:/usr/bin:/bin'
 */
export function agentPath(
  agentEnv: Readonly<Record<string, string>>,
  hostEnv: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const given = agentEnv.PATH ?? hostEnv.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  const nodeDir = path.dirname(process.execPath);
  const dirs = given.split(path.delimiter).filter((dir) => dir !== '' && dir !== nodeDir);
  return [nodeDir, ...dirs].join(path.delimiter);
}

/**
 * The whole environment of an agent CLI process: exactly the session's env (`agent.env`: its
 * credential, base URL, AGENTVISOR_* ids, quiet variables), plus PATH, the agent's own HOME and
 * `extra` (the CLI's config folder and settings). Nothing else is inherited from this process.
 *
 * @example
 * agentProcessEnv(agent.env, { HOME: home.home, CODEX_HOME: home.codexHome })
 */
export function agentProcessEnv(
  agentEnv: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>>,
  hostEnv: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  return { ...agentEnv, PATH: agentPath(agentEnv, hostEnv), ...extra };
}

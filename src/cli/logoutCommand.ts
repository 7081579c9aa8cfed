import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  CLAUDE_AUTH_FILE,
  CODEX_AUTH_FILE,
  checkClaudeAuthSchemaVersion,
  forgetStoredKey,
  isStoredKey,
  readJsonFile,
  readStoredKey,
  removeKeys,
} from '../credentials';
import { recordCliAudit } from '../observability';
import { PROVIDERS } from '../providers';
import type { ProviderId } from '../providers';
import { emit } from './context';
import type { CommandContext } from './context';

/** The top-level keys `login` writes and `logout` may remove, per file. */
export const OWNED_KEYS = {
  claude: { file: CLAUDE_AUTH_FILE, keys: ['ANTHROPIC_API_KEY', 'oauth_tokens'] },
  openai: { file: CODEX_AUTH_FILE, keys: ['OPENAI_API_KEY'] },
} as const satisfies Record<ProviderId, { file: string; keys: readonly string[] }>;

export interface LogoutEntry {
  readonly provider: ProviderId;
  readonly file: string;
  /** The keys that were there and are now gone (empty: nothing to remove). */
  readonly removed: readonly string[];
  /** Keys that are there but were not stored by `agentvisor login` (Codex's own key): left alone. */
  readonly leftAlone: readonly string[];
  /** Whether the file was deleted (only claude_auth.json, ours, once nothing is left in it). */
  readonly deleted: boolean;
}

export interface LogoutResult {
  readonly ok: true;
  readonly results: readonly LogoutEntry[];
  /** Key variables still set in the environment (agentvisor cannot unset them). */
  readonly stillInEnv: readonly string[];
}

async function logoutClaude(file: string): Promise<LogoutEntry> {
  // claude_auth.json is ours: every key login wrote goes, and once only our schema marker is left, the file too.
  // A newer agentvisor's file may keep its keys elsewhere: refused as login refuses it, left as it is.
  const check = (current: Record<string, unknown>): void => void checkClaudeAuthSchemaVersion(file, current);
  const first = await removeKeys(file, OWNED_KEYS.claude.keys, { deleteIfEmpty: true, check });
  let deleted = first.deleted;
  if (!deleted && first.removed.length > 0) {
    const left = await readJsonFile(file, { permissions: 'ignore' });
    // A file without schema_version is read as version 1, so dropping a lone marker loses nothing.
    if (left && Object.keys(left.data).every((k) => k === 'schema_version'))
      deleted = (await removeKeys(file, ['schema_version'], { deleteIfEmpty: true, check })).deleted;
  }
  return { provider: 'claude', file, removed: first.removed, leftAlone: [], deleted };
}

async function logoutOpenai(home: string, file: string): Promise<LogoutEntry> {
  // Codex's file: only a key `agentvisor login` wrote goes (matched by the salted hash recorded at
  // login, under the file's lock); Codex's own key, its ChatGPT login and the file itself stay.
  const record = await readStoredKey(home, 'openai');
  const leftAlone: string[] = [];
  const ours = (key: string, value: unknown): boolean => {
    if (isStoredKey(record, key, value)) return true;
    leftAlone.push(key);
    return false;
  };
  const { removed } = await removeKeys(file, OWNED_KEYS.openai.keys, { deleteIfEmpty: false, when: ours });
  if (record !== null) await forgetStoredKey(home, 'openai');
  return { provider: 'openai', file, removed, leftAlone, deleted: false };
}

/**
 * Removes what `agentvisor login` stored for `which`, and temp files an interrupted write of those
 * files left. Never creates the home.
 *
 * @example const result = await logout(context, 'all');
 */
export async function logout(context: CommandContext, which: ProviderId | 'all'): Promise<LogoutResult> {
  const providers: ProviderId[] = which === 'all' ? ['claude', 'openai'] : [which];
  const results: LogoutEntry[] = [];
  for (const provider of providers) {
    const file = path.resolve(context.home, OWNED_KEYS[provider].file);
    // A missing file still gets the locked pass (it clears a key left in a temp file by a killed first login), unless its folder is missing too.
    if (!existsSync(path.dirname(file))) {
      results.push({ provider, file, removed: [], leftAlone: [], deleted: false });
      continue;
    }
    results.push(provider === 'claude' ? await logoutClaude(file) : await logoutOpenai(context.home, file));
  }
  for (const r of results)
    if (r.removed.length > 0)
      await recordCliAudit(context, {
        event: 'auth.logout',
        provider: r.provider,
        reason: `removed ${r.removed.join(', ')}`,
        source: `file:${path.basename(r.file)}`,
      });
  const stillInEnv = providers
    .flatMap((p) => [...PROVIDERS[p].apiKeyEnv, ...(p === 'claude' ? ['CLAUDE_CODE_OAUTH_TOKEN'] : [])])
    .filter((name) => (process.env[name] ?? '').trim() !== '');
  return { ok: true, results, stillInEnv };
}

/**
 * Prints a logout result (or its JSON under `--json`).
 *
 * @example printLogout(context, await logout(context, 'openai'));
 */
export function printLogout(context: CommandContext, result: LogoutResult): void {
  emit(context, result, () => [
    ...result.results.map((r) =>
      r.removed.length === 0
        ? `${r.provider}: nothing to remove in ${r.file}.`
        : `${r.provider}: removed ${r.removed.join(', ')} from ${r.file}${r.deleted ? ' (the file was empty and is deleted)' : ''}.`,
    ),
    ...result.results
      .filter((r) => r.leftAlone.length > 0)
      .map(
        (r) =>
          `${r.provider}: ${r.leftAlone.join(', ')} in ${r.file} was not stored by \`agentvisor login\` (Codex's own key): ` +
          `left alone; \`codex logout\` removes it.`,
      ),
    ...(result.results.some((r) => r.provider === 'openai')
      ? ["Codex's own API key and ChatGPT login in auth.json are left alone (`codex logout` removes those)."]
      : []),
    ...(result.results.some((r) => r.provider === 'claude')
      ? ["Claude Code's login (.credentials.json) is left alone (log out in Claude Code)."]
      : []),
    ...(result.stillInEnv.length > 0
      ? [`Still set in your environment (agentvisor will keep using them): ${result.stillInEnv.join(', ')}.`]
      : []),
  ]);
}

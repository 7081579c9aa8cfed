import path from 'node:path';
import type { ProviderId } from '../../machines/providers';
import { isProviderId } from '../../machines/providers';
import { readJsonFile, updateJsonFile } from '../storage/secureStore';

/** Beside the file ledger: providers paused by a usage limit, so `status` and `quota` in another process can show them. */
export const PAUSES_FILE = 'pauses.json';

export interface ProviderPause {
  readonly until: number;
  readonly reason: string;
}

export function pausesFileFor(ledgerFile: string): string {
  return path.join(path.dirname(ledgerFile), PAUSES_FILE);
}

/** Records (or, with `null`, clears) a provider's pause. Atomic, 0600, under the store's lock. */
export async function writePause(file: string, provider: ProviderId, pause: ProviderPause | null): Promise<void> {
  await updateJsonFile(
    file,
    (current) => {
      const next = { ...(current ?? {}) };
      if (pause === null) delete next[provider];
      else next[provider] = { until: pause.until, reason: pause.reason };
      return next;
    },
    { home: path.dirname(file) },
  );
}

/**
 * The pauses still in force at `now`, per provider. A missing or unreadable file gives none: this
 * file only informs people, admission never depends on it.
 *
 * @example const pauses = await readPauses(pausesFileFor(defaultLedgerFile(home)), Date.now());
 */
export async function readPauses(file: string, now: number): Promise<Partial<Record<ProviderId, ProviderPause>>> {
  const content = await readJsonFile(file, { permissions: 'warn', home: path.dirname(file) }).catch(() => null);
  const out: Partial<Record<ProviderId, ProviderPause>> = {};
  for (const [provider, value] of Object.entries(content?.data ?? {})) {
    if (!isProviderId(provider) || typeof value !== 'object' || value === null) continue;
    const { until, reason } = value as { until?: unknown; reason?: unknown };
    if (typeof until === 'number' && until > now)
      out[provider] = { until, reason: typeof reason === 'string' ? reason : 'usage limit' };
  }
  return out;
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type { ProviderId } from '../../machines/providers';
import { readJsonFile, updateJsonFile } from '../storage/secureStore';
import type { JsonRecord } from '../storage/secureStore';

/**
 * Where agentvisor records the keys it wrote into files another program owns (Codex's auth.json),
 * relative to the home. Only a salted SHA-256 of each key is kept, never the key: `logout` removes
 * a key from such a file only when it is still the one `login` wrote, so a key Codex stored itself
 * (`codex login --with-api-key`) stays.
 */
export const STORED_KEYS_FILE = path.join('agentvisor', 'stored-keys.json');

/** One key agentvisor wrote: the file (relative to the home), the JSON key, and the salted hash of the value. */
export interface StoredKeyRecord {
  readonly file: string;
  readonly key: string;
  readonly salt: string;
  readonly sha256: string;
  readonly storedAt: string;
}

function fingerprint(salt: string, value: string): string {
  return createHash('sha256').update(`${salt}\0${value}`).digest('hex');
}

function recordOf(value: unknown): StoredKeyRecord | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const r = value as Record<string, unknown>;
  const strings = ['file', 'key', 'salt', 'sha256', 'storedAt'].every((k) => typeof r[k] === 'string');
  return strings ? (r as unknown as StoredKeyRecord) : null;
}

function recordsIn(data: JsonRecord | null): JsonRecord {
  const keys = data?.keys;
  return typeof keys === 'object' && keys !== null && !Array.isArray(keys) ? { ...(keys as JsonRecord) } : {};
}

/**
 * Records that `login` is about to write `value` as `key` in `file` (relative to `home`) for
 * `provider`, replacing an earlier record. Written before the key itself: a kill between the two
 * leaves a record of a key that is not there, which matches nothing.
 *
 * @example await recordStoredKey(home, 'openai', { file: 'auth.json', key: 'OPENAI_API_KEY', value: key });
 */
export async function recordStoredKey(
  home: string,
  provider: ProviderId,
  stored: { readonly file: string; readonly key: string; readonly value: string },
): Promise<void> {
  const salt = randomBytes(16).toString('hex');
  const record: StoredKeyRecord = {
    file: stored.file,
    key: stored.key,
    salt,
    sha256: fingerprint(salt, stored.value),
    storedAt: new Date().toISOString(),
  };
  await updateJsonFile(
    path.join(home, STORED_KEYS_FILE),
    (current) => ({ ...(current ?? {}), schema_version: 1, keys: { ...recordsIn(current), [provider]: record } }),
    { home },
  );
}

/**
 * The record of the key agentvisor wrote for `provider`, or null (none, or an unreadable record:
 * then nothing counts as ours).
 *
 * @example const record = await readStoredKey(home, 'openai');
 */
export async function readStoredKey(home: string, provider: ProviderId): Promise<StoredKeyRecord | null> {
  const content = await readJsonFile(path.join(home, STORED_KEYS_FILE), { home, permissions: 'warn' }).catch(
    () => null,
  );
  return recordOf(recordsIn(content?.data ?? null)[provider]);
}

/**
 * Whether `value`, found as `key`, is the very key the record says agentvisor wrote.
 *
 * @example isStoredKey(record, 'OPENAI_API_KEY', auth.OPENAI_API_KEY) // true only for the key `login` wrote
 */
export function isStoredKey(record: StoredKeyRecord | null, key: string, value: unknown): boolean {
  if (record === null || record.key !== key || typeof value !== 'string') return false;
  const expected = Buffer.from(record.sha256, 'hex');
  const actual = Buffer.from(fingerprint(record.salt, value), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * Drops the record for `provider` (after logout).
 *
 * @example await forgetStoredKey(home, 'openai');
 */
export async function forgetStoredKey(home: string, provider: ProviderId): Promise<void> {
  const file = path.join(home, STORED_KEYS_FILE);
  const current = await readJsonFile(file, { home, permissions: 'warn' }).catch(() => null);
  if (current === null || !(provider in recordsIn(current.data))) return;
  await updateJsonFile(
    file,
    (data) => {
      const keys = recordsIn(data);
      delete keys[provider];
      return { ...(data ?? {}), keys };
    },
    { home },
  );
}

import { PROVIDER_IDS, isProviderId } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { describeJsonFault, faultPosition } from '../storage/jsonError';
import { AgentvisorError } from '../errors';
import { MAX_SESSION_ID_LENGTH } from './ledgerInput';
import type { DailyReset } from './dailyWindow';
import { addLive, createLedgerState } from './ledgerState';
import type { DayRecord, ExpiredRecord, LedgerState, SettledRecord } from './ledgerState';

/**
 * The file ledger's on-disk format, version 2 (docs/ledger.md shows an example):
 *
 *   { "format": "agentvisor-quota-ledger", "version": 2, "dailyReset"?: { "at", "timeZone" },
 *     "reservations": { "<sessionId>": { "provider", "tokens", "expiresAt", "used"? } },
 *     "days": { "<YYYY-MM-DD>": { "used": { "claude", "openai" }, "overrun"?: { "claude", "openai" },
 *                                 "settled": { "<sessionId>": { "provider", "usedTokens", "returnedTokens" } },
 *                                 "expired": { "<sessionId>": "<provider>" | { "provider", "used" } } } } }
 *
 * Version 2 adds usage recorded before settlement (`used` on reservations and expired leases) and
 * `overrun`; the optional fields are written only when not 0. Version 1 files are read as they are
 * (every added field 0) and written back as version 2. An older agentvisor refuses version 2 files
 * (`ledger-corrupt`) instead of dropping recorded usage it does not understand.
 *
 * Reading checks every field: a file that does not match is `ledger-corrupt`, never repaired or
 * replaced, because guessing could drop usage that was already counted.
 */

export const LEDGER_FILE_FORMAT = 'agentvisor-quota-ledger';
export const LEDGER_FILE_VERSION = 2;
const READABLE_VERSIONS: readonly unknown[] = [1, 2];

type Json = Record<string, unknown>;

/**
 * Session ids are object keys on disk: Object.fromEntries and JSON.parse make own properties, so `__proto__` stays data.
 * `dailyReset`, the schedule of the windows the books are kept in, is written when given (every write of the file ledger).
 */
export function serializeLedger(state: LedgerState, dailyReset?: DailyReset): string {
  const days = Object.fromEntries(
    [...state.days]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([day, record]) => [
        day,
        {
          used: { ...record.used },
          ...(PROVIDER_IDS.some((p) => record.overrun[p] > 0) ? { overrun: { ...record.overrun } } : {}),
          settled: Object.fromEntries(record.settled),
          expired: Object.fromEntries(
            [...record.expired].map(([id, e]) => [
              id,
              e.used === 0 ? e.provider : { provider: e.provider, used: e.used },
            ]),
          ),
        },
      ]),
  );
  const reservations = Object.fromEntries(
    [...state.reservations].map(([id, r]) => [
      id,
      r.used === 0
        ? { provider: r.provider, tokens: r.tokens, expiresAt: r.expiresAt }
        : { provider: r.provider, tokens: r.tokens, expiresAt: r.expiresAt, used: r.used },
    ]),
  );
  const schedule = dailyReset === undefined ? {} : { dailyReset: { at: dailyReset.at, timeZone: dailyReset.timeZone } };
  const data = { format: LEDGER_FILE_FORMAT, version: LEDGER_FILE_VERSION, ...schedule, reservations, days };
  return `${JSON.stringify(data, null, 1)}\n`;
}

class Fault extends Error {}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown, where: string): Json {
  if (!isRecord(value)) throw new Fault(`${where} must be an object`);
  return value;
}

function count(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new Fault(`${where} must be a whole number >= 0`);
  return value;
}

function provider(value: unknown, where: string): ProviderId {
  if (!isProviderId(value)) throw new Fault(`${where} must be one of ${PROVIDER_IDS.join(', ')}`);
  return value;
}

function sessionIds(value: unknown, where: string): Array<[string, unknown]> {
  const entries = Object.entries(record(value, where));
  for (const [id] of entries) {
    if (id.length === 0 || id.length > MAX_SESSION_ID_LENGTH)
      throw new Fault(`${where} holds a session id that is empty or longer than ${MAX_SESSION_ID_LENGTH} characters`);
  }
  return entries;
}

function parseDay(day: string, value: unknown): DayRecord {
  const where = `days.${day}`;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Fault(`days has a key that is not a date (YYYY-MM-DD)`);
  const raw = record(value, where);
  const usedRaw = record(raw.used, `${where}.used`);
  const used = { claude: 0, openai: 0 } as Record<ProviderId, number>;
  for (const p of PROVIDER_IDS) used[p] = count(usedRaw[p], `${where}.used.${p}`);
  const overrun = { claude: 0, openai: 0 } as Record<ProviderId, number>;
  if (raw.overrun !== undefined) {
    const overrunRaw = record(raw.overrun, `${where}.overrun`);
    for (const p of PROVIDER_IDS) overrun[p] = count(overrunRaw[p], `${where}.overrun.${p}`);
  }
  const settled = new Map<string, SettledRecord>();
  for (const [id, entry] of sessionIds(raw.settled, `${where}.settled`)) {
    const s = record(entry, `${where}.settled entries`);
    settled.set(id, {
      provider: provider(s.provider, `${where}.settled entries' provider`),
      usedTokens: count(s.usedTokens, `${where}.settled entries' usedTokens`),
      returnedTokens: count(s.returnedTokens, `${where}.settled entries' returnedTokens`),
    });
  }
  const expired = new Map<string, ExpiredRecord>();
  for (const [id, entry] of sessionIds(raw.expired, `${where}.expired`)) {
    if (typeof entry === 'string') {
      expired.set(id, { provider: provider(entry, `${where}.expired entries`), used: 0 });
      continue;
    }
    const e = record(entry, `${where}.expired entries`);
    expired.set(id, {
      provider: provider(e.provider, `${where}.expired entries' provider`),
      used: count(e.used, `${where}.expired entries' used`),
    });
  }
  return { used, overrun, settled, expired };
}

function parseSchedule(value: unknown): DailyReset | null {
  if (value === undefined) return null;
  const raw = record(value, '"dailyReset"');
  if (typeof raw.at !== 'string' || !/^([01]\d|2[0-3]):[0-5]\d$/.test(raw.at))
    throw new Fault('"dailyReset.at" must be HH:MM (24-hour)');
  if (typeof raw.timeZone !== 'string' || raw.timeZone === '')
    throw new Fault('"dailyReset.timeZone" must be a time zone name');
  return { at: raw.at, timeZone: raw.timeZone };
}

function parseState(value: unknown): LedgerState {
  const raw = record(value, 'the top level');
  if (raw.format !== LEDGER_FILE_FORMAT)
    throw new Fault(`"format" is not "${LEDGER_FILE_FORMAT}" (is this an agentvisor ledger file?)`);
  if (!READABLE_VERSIONS.includes(raw.version))
    throw new Fault(
      `"version" is ${JSON.stringify(raw.version)}; this agentvisor reads versions 1 and ${LEDGER_FILE_VERSION} (a newer agentvisor may have written it)`,
    );
  const state = createLedgerState();
  for (const [id, entry] of sessionIds(raw.reservations, 'reservations')) {
    const r = record(entry, 'reservations entries');
    addLive(state, id, {
      provider: provider(r.provider, "reservations entries' provider"),
      tokens: count(r.tokens, "reservations entries' tokens"),
      expiresAt: count(r.expiresAt, "reservations entries' expiresAt"),
      used: r.used === undefined ? 0 : count(r.used, "reservations entries' used"),
    });
  }
  for (const [day, entry] of Object.entries(record(raw.days, 'days'))) state.days.set(day, parseDay(day, entry));
  return state;
}

function corrupt(file: string, problem: string): AgentvisorError {
  return new AgentvisorError(
    'ledger-corrupt',
    `Ledger file ${file} cannot be used: ${problem}. It was left exactly as it is; ` +
      'inspect it, or move it aside to start a fresh ledger (the usage recorded in it is then not counted).',
    { details: { file, problem } },
  );
}

/**
 * Parses and checks a ledger file's text: the books and the daily reset they are kept by (null in
 * files written before it was recorded). Throws `ledger-corrupt` naming the file and the problem
 * (never quoting it).
 */
export function parseLedger(file: string, text: string): { state: LedgerState; dailyReset: DailyReset | null } {
  if (text.trim() === '') throw corrupt(file, 'the file is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const fault = describeJsonFault(text, error);
    const where = faultPosition(fault);
    throw corrupt(file, `it is not valid JSON${where} (${fault.reason})`);
  }
  try {
    const state = parseState(value);
    return { state, dailyReset: parseSchedule((value as Json).dailyReset) };
  } catch (error) {
    if (error instanceof Fault) throw corrupt(file, error.message);
    throw error;
  }
}

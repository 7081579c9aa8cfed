import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AgentvisorError, givenKind } from '../errors';
import { checkOptions } from '../schema/checkOptions';
import { locateUnderHome } from '../storage/homePath';
import { appendAuditOptionsSchema } from './auditOptionsSchema';
import { appendAuditLines, rotatedName } from './auditFile';
import { maskText } from './secretMasker';
import type { SecretMasker } from './secretMasker';

/** What the audit trail records. */
export const AUDIT_EVENTS = [
  'auth.login',
  'auth.logout',
  'auth.refresh',
  'auth.failed',
  'agent.fallback',
  'agent.refused',
  'quota.reset',
  'provider.circuit',
  'provider.paused',
  'provider.resumed',
  'provider.limit',
  'agent.requeued',
  'ledger.degraded',
  'ledger.recovered',
] as const;
export type AuditEventName = (typeof AUDIT_EVENTS)[number];

/** What a caller gives; the trail adds `ts` and nulls for what is missing. */
export interface AuditEntryInput {
  readonly event: AuditEventName;
  readonly sessionId?: string | null;
  readonly agentId?: string | null;
  readonly provider?: string | null;
  /** Why, in a few words or a code; masked before it is written. */
  readonly reason?: string | null;
  /** An error or refusal code (`auth-failed`, `quota-exhausted`…). */
  readonly code?: string;
  /** Fallbacks: the provider moved to (null when none was left). */
  readonly to?: string | null;
  /** Circuit changes: `open` or `closed`. */
  readonly state?: string;
  /** Daily resets: the new window's day. */
  readonly day?: string;
  /** Where a credential came from (`env:ANTHROPIC_API_KEY`, `file:claude_auth.json`), never its value. */
  readonly source?: string;
}

/** One JSON line of the audit file. */
export interface AuditEntry {
  /** ISO 8601 time. */
  readonly ts: string;
  readonly event: AuditEventName;
  readonly sessionId: string | null;
  readonly agentId: string | null;
  readonly provider: string | null;
  readonly reason: string | null;
  readonly code?: string;
  readonly to?: string | null;
  readonly state?: string;
  readonly day?: string;
  readonly source?: string;
}

export interface AuditOptions {
  /** The folder of the audit files. @default `$home/audit` */
  readonly dir?: string;
  /** The current file is rotated before it would grow past this. @default 10 MiB */
  readonly maxBytes?: number;
  /** Rotated files kept beside the current one (`audit.1.jsonl` newest). @default 5 */
  readonly keep?: number;
  /** Buffered entries are appended this often (and on flush/close). @default 1000 */
  readonly flushIntervalMs?: number;
}

export interface ResolvedAuditOptions {
  readonly dir: string;
  /**
   * A `dir` that passes through a symlink must resolve inside this folder: the home given to
   * `resolveAuditOptions`, for a custom `dir` too. @default the folder above `dir`
   */
  readonly home?: string;
  readonly maxBytes: number;
  readonly keep: number;
  readonly flushIntervalMs: number;
}

export const DEFAULT_AUDIT_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_AUDIT_KEEP = 5;
const DEFAULT_FLUSH_MS = 1000;
/** A buffer this long is written at once rather than at the next tick of the interval. */
const FLUSH_AT_ENTRIES = 500;

/**
 * The default audit folder of a home.
 *
 * @example auditDir('/home/me/.codex') // '/home/me/.codex/audit'
 */
export function auditDir(home: string): string {
  return path.join(home, 'audit');
}

/**
 * The `audit` option with its defaults filled in; null when auditing is off. The option was checked
 * with the orchestrator's options (auditOptionSchema). The result keeps `home`, so a custom `dir`
 * reached through a symlink is held to the same home as the default one.
 *
 * @example
 * resolveAuditOptions(true, '/home/me/.codex')
 * // { dir: '/home/me/.codex/audit', home: '/home/me/.codex', maxBytes: 10485760, keep: 5, flushIntervalMs: 1000 }
 */
export function resolveAuditOptions(
  audit: boolean | AuditOptions | undefined,
  home: string,
): ResolvedAuditOptions | null {
  if (audit === undefined || audit === false) return null;
  const o: AuditOptions = audit === true ? {} : audit;
  return {
    dir: o.dir ?? auditDir(home),
    home,
    maxBytes: o.maxBytes ?? DEFAULT_AUDIT_MAX_BYTES,
    keep: o.keep ?? DEFAULT_AUDIT_KEEP,
    flushIntervalMs: o.flushIntervalMs ?? DEFAULT_FLUSH_MS,
  };
}

function refuse(file: string, reason: string, why: string): AgentvisorError {
  return new AgentvisorError(
    'insecure-permissions',
    `Audit path ${file} ${why}; refusing to write the audit trail there (nothing was written).`,
    { details: { file, reason } },
  );
}

/**
 * The real folder to append to, checked before every write: the folder may pass through a symlink
 * only when it resolves inside the home, and the audit files themselves (`audit.jsonl`, rotated
 * `audit.N.jsonl`) must be regular files, never symlinks (appending or rotating would write, chmod
 * or rename whatever a link points at). Throws `insecure-permissions` otherwise.
 *
 * @example const dir = await checkedAuditDir(resolveAuditOptions(true, home)!)
 */
export async function checkedAuditDir(options: Pick<ResolvedAuditOptions, 'dir' | 'home' | 'keep'>): Promise<string> {
  const home = options.home ?? path.dirname(path.resolve(options.dir));
  const where = await locateUnderHome(options.dir, home);
  if (where.problem === 'dangling-symlink')
    throw refuse(where.given, where.problem, 'is a symlink to a missing folder');
  if (where.problem === 'symlink-outside-home')
    throw refuse(where.given, where.problem, `is a symlink (or lies below one) that resolves outside ${home}`);
  for (let n = 0; n <= options.keep; n += 1) {
    const file = path.join(where.real, rotatedName(n));
    const stat = await fsp.lstat(file).catch(() => null);
    if (stat?.isSymbolicLink() === true)
      throw refuse(path.join(where.given, rotatedName(n)), 'symlink', 'is a symlink; audit files are never followed');
    if (stat !== null && !stat.isFile())
      throw refuse(path.join(where.given, rotatedName(n)), 'not-a-file', 'is not a regular file');
  }
  return where.real;
}

/**
 * The JSON line of an entry: fixed fields only (so nothing else can ride along), masked.
 *
 * @example auditLine({ event: 'auth.login', provider: 'claude', reason: 'api-key' }, Date.now(), masker)
 */
export function auditLine(input: AuditEntryInput, now: number, masker: SecretMasker | null): string {
  const entry: AuditEntry = {
    ts: new Date(now).toISOString(),
    event: input.event,
    sessionId: input.sessionId ?? null,
    agentId: input.agentId ?? null,
    provider: input.provider ?? null,
    reason: input.reason ?? null,
    ...(input.code === undefined ? {} : { code: input.code }),
    ...(input.to === undefined ? {} : { to: input.to }),
    ...(input.state === undefined ? {} : { state: input.state }),
    ...(input.day === undefined ? {} : { day: input.day }),
    ...(input.source === undefined ? {} : { source: input.source }),
  };
  const json = JSON.stringify(entry);
  return `${maskText(masker, json)}\n`;
}

/**
 * An append-only audit trail: `record` only buffers (no I/O on the caller's path); entries are
 * appended in order every `flushIntervalMs`, when 500 are waiting, and on `flush`/`close`. Each
 * write checks the path first (`checkedAuditDir`); a refused path reaches `onError`.
 *
 * @example
 * const trail = new AuditTrail(resolveAuditOptions(true, home)!, { masker });
 * trail.record({ event: 'agent.fallback', agentId, sessionId, provider: 'claude', to: 'openai', reason: 'overloaded' });
 * await trail.close();
 */
export class AuditTrail {
  readonly #options: ResolvedAuditOptions;
  readonly #masker: SecretMasker | null;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  #buffer: string[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Writes run one after the other, so lines keep the order they were recorded in. */
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    options: ResolvedAuditOptions,
    deps: { masker?: SecretMasker | null; now?: () => number; onError?: (error: unknown) => void } = {},
  ) {
    this.#options = options;
    this.#masker = deps.masker ?? null;
    this.#now = deps.now ?? Date.now;
    this.#onError = deps.onError ?? (() => undefined);
  }

  /** The folder the trail writes to. */
  get dir(): string {
    return this.#options.dir;
  }

  /** Buffers one entry. After close, entries are written one by one at once. */
  record(input: AuditEntryInput): void {
    this.#buffer.push(auditLine(input, this.#now(), this.#masker));
    if (this.#closed || this.#buffer.length >= FLUSH_AT_ENTRIES) {
      void this.flush();
      return;
    }
    if (this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        void this.flush();
      }, this.#options.flushIntervalMs);
      this.#timer.unref();
    }
  }

  /** Appends what is buffered; resolves when every entry recorded so far is in the file. */
  flush(): Promise<void> {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const lines = this.#buffer;
    this.#buffer = [];
    if (lines.length > 0) {
      this.#writing = this.#writing
        .then(async () => appendAuditLines(await checkedAuditDir(this.#options), lines, this.#options))
        .catch((error: unknown) => this.#onError(error));
    }
    return this.#writing;
  }

  /** Flushes; later entries are written at once. */
  close(): Promise<void> {
    this.#closed = true;
    return this.flush();
  }
}

/**
 * Appends one entry to a home's audit trail at once (for one-shot commands such as `login` and
 * `logout`), with the same rotation as the orchestrator's trail.
 *
 * @example await appendAuditEntry(context.home, { event: 'auth.login', provider: 'claude', reason: 'api-key', source: 'file:claude_auth.json' })
 */
export async function appendAuditEntry(
  home: string,
  entry: AuditEntryInput,
  options?: AuditOptions & { masker?: SecretMasker; now?: number },
): Promise<void> {
  const event: unknown = typeof entry === 'object' && entry !== null ? entry.event : undefined;
  if (!(AUDIT_EVENTS as readonly unknown[]).includes(event))
    throw new AgentvisorError(
      'invalid-option',
      typeof entry !== 'object' || entry === null
        ? `appendAuditEntry's entry must be an object such as { event: 'auth.login' }, got ${givenKind(entry)}`
        : `the audit entry's event must be one of ${AUDIT_EVENTS.join(', ')}, got ${JSON.stringify(event) ?? 'none'}`,
      { details: { option: 'entry.event' } },
    );
  // Only given options are checked: the CLI's login and logout pass none and never load zod.
  if (options !== undefined)
    checkOptions(appendAuditOptionsSchema, options, {
      call: 'appendAuditEntry',
      expected: 'an object such as { keep: 5 }',
    });
  const { masker, now, ...audit } = options ?? {};
  const resolved = resolveAuditOptions(audit, home)!;
  await appendAuditLines(
    await checkedAuditDir(resolved),
    [auditLine(entry, now ?? Date.now(), masker ?? null)],
    resolved,
  );
}

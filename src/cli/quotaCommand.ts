import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { defaultLedgerFile } from '../orchestrator/ledgerOption';
import { PROVIDER_IDS } from '../providers';
import type { ProviderId } from '../providers';
import { readFileLedgerSnapshot } from '../quota/fileLedger';
import { createMemoryLedger } from '../quota/memoryLedger';
import { alreadyChecked } from '../schema/checkOptions';
import { pausesFileFor, readPauses } from '../quota/pauseRecord';
import { commandContext, configLine, configSummary, configuredLimits, emit, limitSourceCell } from './context';
import type { CommandContext, ConfigSummary, SettingSource } from './context';
import { maskUrl } from './displayUrl';
import { renderTable } from './table';

export interface ProviderQuota {
  readonly provider: ProviderId;
  readonly dailyLimit: number;
  readonly used: number;
  readonly reserved: number;
  readonly available: number;
  readonly active: number;
  readonly maxConcurrent: number;
  /** RFC 3339 when a usage limit pauses the provider, else null. */
  readonly pausedUntil: string | null;
  readonly pauseReason: string | null;
}

export interface QuotaResult {
  readonly ok: true;
  /** The ledger file; for a Redis ledger its URL (masked), for a memory ledger `memory`. */
  readonly ledger: string;
  readonly ledgerKind: ConfiguredLedger['kind'];
  /** False when no run or batch has written the ledger yet (the figures are then the empty day), and for ledgers quota cannot read. */
  readonly exists: boolean;
  readonly day: string;
  readonly nextResetAt: string;
  readonly providers: readonly ProviderQuota[];
  /** The config file looked at, and whether there was one. */
  readonly config: ConfigSummary;
  /** Per provider, where the daily limit and the concurrency limit came from. */
  readonly limitsFrom: Readonly<
    Record<ProviderId, { readonly dailyLimit: SettingSource; readonly maxConcurrent: SettingSource }>
  >;
}

/** The budget of record run and batch use: the file ledger under the home, unless the config file names another. */
export interface ConfiguredLedger {
  readonly kind: 'file' | 'memory' | 'redis';
  /** The ledger file (file ledgers only), else null. */
  readonly file: string | null;
  /** How to name it to people: the file, the Redis URL masked, or `memory`. */
  readonly label: string;
}

/**
 * The ledger the config file names (`ledger`), else the file ledger under the home.
 *
 * @example configuredLedger(context) // { kind: 'file', file: '/home/me/.codex/agentvisor/ledger.json', label: '/home/me/.codex/agentvisor/ledger.json' }
 */
export function configuredLedger(context: Pick<CommandContext, 'home' | 'config'>): ConfiguredLedger {
  const ledger = context.config?.settings.ledger ?? 'file';
  if (ledger === 'memory') return { kind: 'memory', file: null, label: 'memory' };
  if (typeof ledger === 'object' && 'redis' in ledger)
    return { kind: 'redis', file: null, label: maskUrl(ledger.redis) };
  const file = ledger === 'file' ? defaultLedgerFile(context.home) : ledger.file;
  return { kind: 'file', file, label: file };
}

/**
 * Today's usage against the limits in force (the config file's over the defaults), from the file
 * ledger run and batch record to, with providers paused by a usage limit. Reading never creates
 * or rewrites it. A memory ledger keeps nothing between commands, and a Redis ledger is not read
 * here: both show the empty day.
 *
 * @example const quota = await collectQuota(commandContext(command));
 */
export async function collectQuota(
  context: Pick<CommandContext, 'home' | 'config' | 'configFile'>,
  now: number = Date.now(),
): Promise<QuotaResult> {
  const where = configuredLedger(context);
  const configured = configuredLimits(context.config);
  const limits = Object.fromEntries(
    PROVIDER_IDS.map((p) => [p, { dailyLimit: configured[p].dailyLimit, maxConcurrent: configured[p].maxConcurrent }]),
  ) as Record<ProviderId, { dailyLimit: number; maxConcurrent: number }>;
  const file = where.file;
  const exists = file !== null && existsSync(file);
  const memory = createMemoryLedger(alreadyChecked({ limits, now: () => now }));
  try {
    // Read without the lock and never written back; a missing file is the empty day, nothing created.
    const snapshot =
      file === null
        ? await memory.snapshot()
        : await readFileLedgerSnapshot(alreadyChecked({ file, limits, home: context.home, now: () => now }));
    const pauses = file === null ? {} : await readPauses(pausesFileFor(file), now);
    const providers = PROVIDER_IDS.map((provider): ProviderQuota => {
      const p = snapshot.providers[provider];
      const pause = pauses[provider];
      return {
        provider,
        dailyLimit: p.dailyLimit,
        used: p.used,
        reserved: p.reserved,
        available: Math.max(0, p.dailyLimit - p.used - p.reserved),
        active: p.active,
        maxConcurrent: p.maxConcurrent,
        pausedUntil: pause ? new Date(pause.until).toISOString() : null,
        pauseReason: pause?.reason ?? null,
      };
    });
    return {
      ok: true,
      ledger: where.label,
      ledgerKind: where.kind,
      exists,
      day: snapshot.day,
      nextResetAt: new Date(snapshot.nextResetAt).toISOString(),
      providers,
      config: configSummary(context),
      limitsFrom: Object.fromEntries(PROVIDER_IDS.map((p) => [p, configured[p].from])) as QuotaResult['limitsFrom'],
    };
  } finally {
    await memory.close();
  }
}

function ledgerNote(quota: QuotaResult): string {
  if (quota.ledgerKind === 'memory')
    return ' (memory: the config file keeps no ledger between commands, so nothing is recorded)';
  if (quota.ledgerKind === 'redis')
    return " (Redis: quota reads file ledgers only; a running orchestrator's stats() has the shared figures)";
  return quota.exists ? '' : ' (nothing recorded yet)';
}

/**
 * `agentvisor quota`.
 *
 * @example addQuotaCommand(program);
 */
export function addQuotaCommand(program: Command): void {
  program
    .command('quota')
    .description(
      "today's usage, reservations and limits per provider from the ledger under --home (what run and batch recorded), " +
        'where each limit came from, and paused providers',
    )
    .action(async (_opts: unknown, command: Command) => {
      const context = commandContext(command);
      const quota = await collectQuota(context);
      const limits = configuredLimits(context.config);
      emit(context, quota, () => [
        renderTable(
          ['provider', 'used', 'reserved', 'available', 'daily limit', 'running', 'at once', 'limits from', 'status'],
          quota.providers.map((p) => [
            p.provider,
            p.used,
            p.reserved,
            p.available,
            p.dailyLimit,
            p.active,
            p.maxConcurrent,
            limitSourceCell(limits[p.provider]),
            p.pausedUntil ? `paused until ${p.pausedUntil} (${p.pauseReason})` : 'ok',
          ]),
        ),
        '',
        `Day ${quota.day} (resets ${quota.nextResetAt}); ledger ${quota.ledger}${ledgerNote(quota)}.`,
        configLine(context),
      ]);
    });
}

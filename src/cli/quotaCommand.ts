import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_LIMITS } from '../orchestrator/options';
import { defaultLedgerFile } from '../orchestrator/ledgerOption';
import { PROVIDER_IDS } from '../providers';
import type { ProviderId } from '../providers';
import { createFileLedger } from '../quota/fileLedger';
import { createMemoryLedger } from '../quota/memoryLedger';
import { pausesFileFor, readPauses } from '../quota/pauseRecord';
import { commandContext, emit } from './context';
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
  readonly ledger: string;
  /** False when no run or batch has written the ledger yet (the figures are then the empty day). */
  readonly exists: boolean;
  readonly day: string;
  readonly nextResetAt: string;
  readonly providers: readonly ProviderQuota[];
}

/**
 * Today's usage against the limits, from the file ledger under the home folder (what `run` and
 * `batch` recorded), with providers paused by a usage limit. Reading never creates or rewrites it.
 *
 * @example const quota = await collectQuota('/home/me/.codex');
 */
export async function collectQuota(home: string, now: number = Date.now()): Promise<QuotaResult> {
  const file = defaultLedgerFile(home);
  const exists = existsSync(file);
  // Nothing recorded yet: the empty day, without creating the folder or the file.
  const ledger = exists ? createFileLedger({ file, limits: DEFAULT_LIMITS, now: () => now }) : createMemoryLedger({ limits: DEFAULT_LIMITS, now: () => now });
  try {
    const snapshot = await ledger.snapshot();
    const pauses = await readPauses(pausesFileFor(file), now);
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
    return { ok: true, ledger: file, exists, day: snapshot.day, nextResetAt: new Date(snapshot.nextResetAt).toISOString(), providers };
  } finally {
    await ledger.close();
  }
}

export function addQuotaCommand(program: Command): void {
  program
    .command('quota')
    .description("today's usage, reservations and limits per provider from the ledger under --home (what run and batch recorded), and paused providers")
    .action(async (_opts: unknown, command: Command) => {
      const context = commandContext(command);
      const quota = await collectQuota(context.home);
      emit(context, quota, () => [
        renderTable(
          ['provider', 'used', 'reserved', 'available', 'daily limit', 'running', 'at once', 'status'],
          quota.providers.map((p) => [p.provider, p.used, p.reserved, p.available, p.dailyLimit, p.active, p.maxConcurrent, p.pausedUntil ? `paused until ${p.pausedUntil} (${p.pauseReason})` : 'ok']),
        ),
        '',
        `Day ${quota.day} (resets ${quota.nextResetAt}); ledger ${quota.ledger}${quota.exists ? '' : ' (nothing recorded yet)'}.`,
      ]);
    });
}

import { PROVIDER_IDS } from '../../machines/providers';
import type { ReserveOutcome, ReserveRequest } from './ledger';
import { duplicateSessionError } from './ledgerInput';

/**
 * Group commit for the Redis ledger's `reserve`: the reservations one process asks for in the same
 * tick go to Redis in one reserve script, which decides them one after the other, in the order
 * they were asked for, exactly as separate scripts would (each sees the books as the ones before
 * it left them). One round trip and one script call are shared instead of paid per reservation.
 * Nothing waits for company: a reservation alone goes out at the end of its tick, alone.
 */

/**
 * At most this many reservations share one script call (Redis runs nothing else meanwhile: a few µs each).
 *
 * @example
 * const calls = Math.ceil(waiting / MAX_RESERVE_BATCH);
 */
export const MAX_RESERVE_BATCH = 128;

type Reply = ReadonlyArray<string | number>;

interface Waiting {
  readonly request: ReserveRequest;
  readonly resolve: (outcome: ReserveOutcome) => void;
  readonly reject: (error: unknown) => void;
}

export interface ReserveBatcher {
  /** Queues a checked request read at clock reading `at`; it goes out with the others of this tick. */
  reserve(request: ReserveRequest, at: number): Promise<ReserveOutcome>;
  /** Sends the waiting requests now. Other operations call it first, so that calls reach Redis in the order they were made. */
  flush(): void;
}

const REFUSALS = new Set(['quota-exhausted', 'concurrency-limit', 'no-provider']);

function settleOne(waiting: Waiting, outcome: string | number | undefined, value: string | number | undefined): void {
  const { provider, sessionId, tokens } = waiting.request;
  const n = Number(value);
  if (outcome === 'reserved') waiting.resolve({ status: 'reserved', provider, sessionId, tokens, expiresAt: n });
  else if (outcome === 'duplicate-session') waiting.reject(duplicateSessionError(sessionId, 'live'));
  else if (outcome === 'already-settled') waiting.reject(duplicateSessionError(sessionId, 'settled'));
  else if (REFUSALS.has(String(outcome))) {
    waiting.resolve({
      status: 'refused',
      provider,
      code: outcome as 'quota-exhausted' | 'concurrency-limit' | 'no-provider',
      retryAfterMs: n < 0 ? null : n,
    });
  } else waiting.reject(new Error(`the reserve script answered ${String(outcome)} for ${sessionId}`));
}

/**
 * @param send runs the reserve script with these per-reservation ARGV (provider#, sessionId,
 *   tokens, leaseMs, for each) at clock reading `at`; resolves with the script's reply.
 * @param sharesClock whether requests read at different clock readings may go together (true when
 *   the server's clock decides; with the caller's clock a new reading starts a new batch).
 * @example
 * const batcher = createReserveBatcher((items, at) => runReserveScript(items, at), true);
 * const outcome = await batcher.reserve({ provider: 'claude', sessionId: 's-1', tokens: 100, leaseMs: 60_000 }, Date.now());
 */
export function createReserveBatcher(
  send: (items: Array<string | number>, at: number) => Promise<Reply>,
  sharesClock: boolean,
): ReserveBatcher {
  let waiting: Waiting[] = [];
  let at = 0;
  let scheduled = false;

  function dispatch(batch: readonly Waiting[], readAt: number): void {
    const items: Array<string | number> = [];
    for (const { request } of batch)
      items.push(PROVIDER_IDS.indexOf(request.provider) + 1, request.sessionId, request.tokens, request.leaseMs);
    send(items, readAt).then(
      (reply) => batch.forEach((w, i) => settleOne(w, reply[2 + 2 * i], reply[3 + 2 * i])),
      (error: unknown) => batch.forEach((w) => w.reject(error)),
    );
  }

  function flush(): void {
    const all = waiting;
    waiting = [];
    for (let i = 0; i < all.length; i += MAX_RESERVE_BATCH) dispatch(all.slice(i, i + MAX_RESERVE_BATCH), at);
  }

  return {
    reserve(request, readAt) {
      if (waiting.length > 0 && !sharesClock && readAt !== at) flush();
      if (waiting.length === 0) at = readAt;
      return new Promise<ReserveOutcome>((resolve, reject) => {
        waiting.push({ request, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          process.nextTick(() => {
            scheduled = false;
            flush();
          });
        }
      });
    },
    flush,
  };
}

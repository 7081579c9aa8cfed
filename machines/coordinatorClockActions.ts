/**
 * The coordinator's action bodies for one concern (assembled in machines/coordinatorActions.ts).
 * The clock's tick: a new quota window, paused providers resumed, the queue drained, waits expired, leases swept.
 */
import { assertEvent } from 'xstate';
import { admissionCandidates } from './admissionQueue';
import { withBudget } from './budget';
import type { Budgets } from './budget';
import { commitAndDrain, decide, retryAfterMs, withoutNotBefore } from './coordinatorContext';
import { PROVIDER_IDS } from './providers';
import { sideEffect } from './coordinatorSideEffect';
import type { ActionArgs } from './coordinatorSideEffect';

function startNewWindow({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'clock.tick');
  if (event.day === context.day) {
    // The same window with another end (the reset time changed across a restore): only its end moves.
    if (event.nextResetAt !== context.nextResetAt) enqueue.assign({ nextResetAt: event.nextResetAt });
    return;
  }
  let budgets: Budgets = context.budgets;
  for (const p of PROVIDER_IDS) budgets = withBudget(budgets, p, { used: 0, overrun: 0, lowAnnounced: false });
  enqueue.emit({ type: 'quota.reset', day: event.day });
  enqueue.assign({ budgets, day: event.day, nextResetAt: event.nextResetAt, now: Math.max(context.now, event.now) });
}

function resumeProviders({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'clock.tick');
  let health = context.health;
  for (const p of PROVIDER_IDS) {
    const h = health[p];
    const resumed = h.pausedUntil !== 0 && h.pausedUntil <= event.now;
    const cooled = h.state === 'open' && h.openUntil <= event.now;
    if (!resumed && !cooled) continue;
    // A cooled-down circuit is stored half-open so its openUntil is no longer due.
    health = {
      ...health,
      [p]: { ...h, ...(resumed ? { pausedUntil: 0 } : {}), ...(cooled ? { state: 'halfOpen' as const } : {}) },
    };
    if (resumed) {
      sideEffect(enqueue, 'recordPause', { provider: p, pause: null });
      enqueue.emit({ type: 'provider.resumed', provider: p });
    }
  }
  if (health !== context.health) enqueue.assign({ health, now: Math.max(context.now, event.now) });
}

function drainQueue({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'clock.tick');
  const now = Math.max(context.now, event.now);
  // A passed not-before time is dropped, so it is no longer due.
  const ready = context.queue.some((q) => q.notBefore !== undefined && q.notBefore <= event.now);
  const queue = ready
    ? context.queue.map((q) => (q.notBefore !== undefined && q.notBefore <= event.now ? withoutNotBefore(q) : q))
    : context.queue;
  commitAndDrain(enqueue, ready ? { ...context, queue } : context, context.budgets, now);
}

function expireWaits({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'clock.tick');
  const expired = context.queue.filter((q) => q.deadline <= event.now);
  if (expired.length === 0) return;
  enqueue.assign({ queue: context.queue.filter((q) => q.deadline > event.now), now: Math.max(context.now, event.now) });
  for (const entry of expired) {
    const decision = decide(context, entry, event.now);
    const code = decision.status === 'refuse' ? decision.code : 'concurrency-limit';
    if (entry.readmit === true) {
      const provider = entry.preferredProvider ?? 'its provider';
      const message = `the session waited ${context.config.leaseMs} ms to be re-admitted on ${provider} after throttling (${code})`;
      enqueue.sendTo(context.supervisor, {
        type: 'supervisor.forward',
        sessionId: entry.sessionId,
        event: { type: 'session.fallbackRefused', code: 'no-provider', message },
      });
      continue;
    }
    const retry = retryAfterMs(context, code, event.now, admissionCandidates(context.config.fallbackChain, entry));
    enqueue.emit({
      type: 'agent.refused',
      requestId: entry.requestId,
      agentId: entry.agentId,
      code,
      retryAfterMs: retry,
      waited: true,
    });
  }
}

function sweepLeases({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'clock.tick');
  const interval = context.config.sweepIntervalMs;
  if (interval === undefined || event.now < context.sweptAt + interval) return;
  // Sweeps stay on their grid (start + k * interval) however late the tick comes.
  enqueue.assign({
    sweptAt: context.sweptAt + Math.floor((event.now - context.sweptAt) / interval) * interval,
    now: Math.max(context.now, event.now),
  });
  enqueue.sendTo(context.supervisor, { type: 'supervisor.sweep', now: event.now });
}

/**
 * The action bodies for the clock's tick, by name.
 *
 * @example setup({ actions: { drainQueue: enqueueActions(clockActionBodies.drainQueue) } })
 */
export const clockActionBodies = { startNewWindow, resumeProviders, drainQueue, expireWaits, sweepLeases } as const;

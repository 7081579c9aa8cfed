/**
 * The coordinator's action bodies for one concern (assembled in machines/coordinatorActions.ts).
 * Provider health: a failure counted on the circuit, an adaptive limit lowered, a provider paused.
 */
import { assertEvent } from 'xstate';
import { recordHealth } from './coordinatorContext';
import { countsForHealth } from './failureDecision';
import { pauseUntil, recordThrottle } from './providerHealth';
import { sideEffect } from './coordinatorSideEffect';
import type { ActionArgs } from './coordinatorSideEffect';

/** Counts the failure on the provider's circuit when it says something about the provider (failureDecision's `countsForHealth`). */
function countFailureOnCircuit({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'provider.failed');
  if (!(event.countsForHealth ?? countsForHealth(event, context.config.adaptive !== null))) return;
  const now = Math.max(context.now, event.now);
  const health = recordHealth(enqueue, context, event.provider, false, now);
  if (health !== context.health) enqueue.assign({ health, now });
}

/** Server-side throttling: adaptive concurrency halves the provider's limit. */
function lowerAdaptiveLimit({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'provider.failed');
  const now = Math.max(context.now, event.now);
  const { provider } = event;
  const before = context.health[provider].limit;
  const throttled = recordThrottle(context.health[provider], context.config.adaptive, now, event.since ?? null);
  if (throttled.changed !== null && before !== null)
    enqueue.emit({ type: 'provider.limit', provider, limit: throttled.changed, previous: before, reason: 'throttle' });
  if (throttled.health !== context.health[provider])
    enqueue.assign({ health: { ...context.health, [provider]: throttled.health }, now });
}

/** A usage limit pauses the provider until it resets (or `usageLimitPauseMs` when the provider did not say). */
function pauseForUsageLimit({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'provider.failed');
  const now = Math.max(context.now, event.now);
  const { provider } = event;
  const until = event.resetAt !== null && event.resetAt > now ? event.resetAt : now + context.config.usageLimitPauseMs;
  const paused = pauseUntil(context.health[provider], until);
  if (paused === context.health[provider]) return;
  sideEffect(enqueue, 'recordPause', { provider, pause: { until: paused.pausedUntil, reason: event.kind } });
  enqueue.emit({ type: 'provider.paused', provider, until: paused.pausedUntil, reason: event.kind });
  enqueue.assign({ health: { ...context.health, [provider]: paused }, now });
}

function pauseExhausted({ context, event, enqueue }: ActionArgs): void {
  assertEvent(event, 'provider.exhausted');
  const now = Math.max(context.now, event.now);
  if (event.until <= now) return;
  const paused = pauseUntil(context.health[event.provider], event.until);
  if (paused === context.health[event.provider]) return;
  sideEffect(enqueue, 'recordPause', {
    provider: event.provider,
    pause: { until: paused.pausedUntil, reason: event.reason },
  });
  enqueue.emit({ type: 'provider.paused', provider: event.provider, until: paused.pausedUntil, reason: event.reason });
  enqueue.assign({ health: { ...context.health, [event.provider]: paused }, now });
}

/**
 * The provider-health action bodies, by name.
 *
 * @example setup({ actions: { pauseExhausted: enqueueActions(healthActionBodies.pauseExhausted) } })
 */
export const healthActionBodies = {
  countFailureOnCircuit,
  lowerAdaptiveLimit,
  pauseForUsageLimit,
  pauseExhausted,
} as const;

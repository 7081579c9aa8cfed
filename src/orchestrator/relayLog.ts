import type { Logger } from 'pino';
import type { EventRelay } from './eventRelay';

/**
 * Logs the orchestrator's events: one listener per event on the relay, like any other listener.
 * Payloads carry ids, providers and counts, never a credential.
 *
 * @example
 * logRelayEvents(relay, createLogger('debug'));
 */
export function logRelayEvents(relay: EventRelay, log: Logger): void {
  relay
    .on('agent.admitted', (e) => log.debug(e, 'agent admitted'))
    .on('agent.queued', (e) => log.debug({ agentId: e.agentId, position: e.position, code: e.code }, 'agent queued'))
    .on('agent.refused', (e) =>
      log.info({ agentId: e.agentId, code: e.code, retryAfterMs: e.retryAfterMs }, 'agent refused'),
    )
    .on('agent.active', (e) =>
      log.debug({ agentId: e.agentId, sessionId: e.sessionId, provider: e.provider }, 'agent active'),
    )
    .on('agent.requeued', (e) =>
      log.info(
        { agentId: e.agentId, provider: e.provider, reason: e.reason, notBefore: e.notBefore },
        'agent requeued',
      ),
    )
    .on('agent.fallback', (e) =>
      log.info({ agentId: e.agentId, from: e.from, to: e.to, reason: e.reason }, 'agent fallback'),
    )
    .on('agent.released', ({ agentId, sessionId, provider, usedTokens, returnedTokens, reason }) => {
      log.debug({ agentId, sessionId, provider, usedTokens, returnedTokens, reason }, 'agent released');
    })
    .on('quota.low', (e) => log.warn({ provider: e.provider, available: e.available }, 'quota low'))
    .on('quota.overrun', (e) =>
      log.warn(
        { provider: e.provider, sessionId: e.sessionId, overrunTokens: e.overrunTokens },
        'usage beyond the daily budget',
      ),
    )
    .on('quota.reset', (e) => log.info({ day: e.day }, 'daily budget reset'))
    .on('provider.limit', (e) => log.info(e, 'adaptive concurrency limit'))
    .on('provider.paused', (e) => {
      log.warn(
        { provider: e.provider, until: new Date(e.until).toISOString(), reason: e.reason },
        'provider paused until its usage limit resets',
      );
    })
    .on('provider.resumed', (e) => log.info({ provider: e.provider }, 'provider resumed'))
    .on('provider.circuit', (e) =>
      e.state === 'open' ? log.warn(e, 'provider circuit') : log.info(e, 'provider circuit'),
    );
}

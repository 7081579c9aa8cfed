/**
 * Issue 14, item 5: a reset time a provider reports more than 7 days away (configurable) is capped
 * and logged as suspicious, and no timer overflows (Node would fire a timer longer than 2^31-1 ms
 * at once, with a TimeoutOverflowWarning).
 */
import { Writable } from 'node:stream';
import { createOrchestrator, isAgentvisorError } from '../../src';
import { createLogger } from '../../src/observability';
import {
  DEFAULT_MAX_PROVIDER_RESET_MS,
  capFactsTimes,
  capFailureTimes,
  readRateLimitHeaders,
} from '../../src/providers';
import { classifyFailure } from '../../src/orchestrator';
import { DAY, T0 } from '../helpers/timeOrigin';

const KEY = 'sk-ant-api03-RESETcapTESTkey-0001';

function captured(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  return { stream, lines };
}

describe('provider reset cap', () => {
  const now = T0;

  it('should cap a usage-limit reset 30 days away at 7 days and leave nearer ones alone', () => {
    const far = classifyFailure(
      {
        status: 429,
        body: { error: { type: 'usage_limit_reached', message: 'limit', resets_at: (now + 30 * DAY) / 1000 } },
      },
      'openai',
      now,
    );
    const { failure, capped } = capFailureTimes(far, now, DEFAULT_MAX_PROVIDER_RESET_MS);
    expect(failure.resetAt).toBe(now + 7 * DAY);
    expect(failure.retryAfterMs).toBe(7 * DAY);
    expect(capped).toEqual([
      { field: 'resetAt', reported: now + 30 * DAY, used: now + 7 * DAY },
      { field: 'retryAfterMs', reported: 30 * DAY, used: 7 * DAY },
    ]);
    const near = classifyFailure(
      {
        status: 429,
        body: { error: { type: 'usage_limit_reached', message: 'limit', resets_at: (now + 6 * DAY) / 1000 } },
      },
      'openai',
      now,
    );
    expect(capFailureTimes(near, now, DEFAULT_MAX_PROVIDER_RESET_MS)).toEqual({ failure: near, capped: [] });
  });

  it('should cap rate-limit headers that say a reset is weeks away', () => {
    const facts = readRateLimitHeaders(
      {
        'retry-after': String(40 * 86_400),
        'anthropic-ratelimit-tokens-remaining': '0',
        'anthropic-ratelimit-tokens-reset': new Date(now + 40 * DAY).toISOString(),
      },
      now,
    );
    const { facts: out, capped } = capFactsTimes(facts, now, 2 * DAY);
    expect(out.resetAt).toBe(now + 2 * DAY);
    expect(out.retryAfterMs).toBe(2 * DAY);
    expect(capped.map((c) => c.field)).toEqual(['resetAt', 'retryAfterMs']);
  });

  it('should pause the provider only up to the cap, log it as suspicious and set no overflowing timer', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const { stream, lines } = captured();
    const orch = createOrchestrator({
      env: { ANTHROPIC_API_KEY: KEY },
      credentialSources: ['env'],
      fallbackChain: ['claude'],
      logger: createLogger('warn', stream),
      maxProviderResetMs: 3 * DAY,
    });
    try {
      await orch.start();
      const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
      const reportedAt = Date.now();
      const error = await agent
        .reportFailure({
          status: 429,
          body: {
            error: {
              type: 'usage_limit_reached',
              message: 'usage limit reached',
              resets_at: Math.floor((reportedAt + 60 * DAY) / 1000),
            },
          },
        })
        .catch((e: unknown) => e);
      expect(isAgentvisorError(error, 'no-provider')).toBe(true);
      const pausedUntil = orch.stats().providers.claude.pausedUntil!;
      expect(pausedUntil).toBeGreaterThanOrEqual(reportedAt + 3 * DAY);
      expect(pausedUntil).toBeLessThanOrEqual(Date.now() + 3 * DAY);
      // Still paused a moment later: an overflowing timer would have fired (and resumed it) at once.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(orch.stats().providers.claude.pausedUntil).toBe(pausedUntil);
      expect(warnings).toEqual([]);
      const suspicious = lines
        .map((l) => JSON.parse(l) as { msg: string; field?: string; provider?: string })
        .filter((l) => /suspicious provider reset/.test(l.msg));
      expect(suspicious.map((l) => l.field)).toEqual(['resetAt', 'retryAfterMs']);
      expect(suspicious[0]!.msg).toMatch(/more than 3 days away, capped/);
    } finally {
      await orch.stop();
      process.off('warning', onWarning);
    }
  });

  it('should refuse a cap out of range with invalid-option', () => {
    for (const maxProviderResetMs of [0, 59_999, 22 * DAY, 1.5]) {
      expect(() => createOrchestrator({ env: {}, maxProviderResetMs })).toThrow(
        expect.objectContaining({ code: 'invalid-option' }),
      );
    }
  });
});

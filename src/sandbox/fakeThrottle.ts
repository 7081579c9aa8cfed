import { fakeStep } from './fakeScript';
import type { FakeModelRequest, FakeStep } from './fakeScript';

/** Anthropic's wording for server-side throttling: a 429 that is not the account's usage limit. */
export const SERVER_THROTTLE_MESSAGE = 'Server is temporarily limiting requests (not your usage limit)';

export interface ThrottlingScriptOptions {
  /** More model requests than this in flight at once (the new one included) get a 429. */
  readonly maxInFlight: number;
  /** The answer for requests within the limit. @default a 'pong' reply after 400 ms */
  readonly reply?: FakeStep;
  /** `retry-after` sent with the 429. @default 1 */
  readonly retryAfterSeconds?: number;
  /** Told about every 429 the script answers (for counters and progress lines). */
  readonly onThrottle?: (request: FakeModelRequest) => void;
}

/**
 * A provider API fake script that throttles like a busy provider: while more than `maxInFlight`
 * model requests are being answered, a new one gets 429 `rate_limit_error` "Server is temporarily
 * limiting requests (not your usage limit)" (in the provider's own error shape); the others get
 * `reply`. Hammering it with more agents than it allows costs 429s; an orchestrator that adapts
 * its concurrency sees few.
 *
 * @example
 * fake.setScript('claude', throttlingScript({ maxInFlight: 3, reply: fakeStep.reply({ delayMs: 400 }) }));
 */
export function throttlingScript(options: ThrottlingScriptOptions): (request: FakeModelRequest) => FakeStep {
  const reply = options.reply ?? fakeStep.reply({ delayMs: 400 });
  const throttled = fakeStep.error('rateLimited', {
    message: SERVER_THROTTLE_MESSAGE,
    retryAfterSeconds: options.retryAfterSeconds ?? 1,
  });
  return (request) => {
    if (request.inFlight <= options.maxInFlight) return reply;
    options.onThrottle?.(request);
    return throttled;
  };
}

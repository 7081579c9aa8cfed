import type { ProviderId } from '../../machines/providers';
import { fakeStep } from './fakeScript';
import type { FakeStep } from './fakeScript';
import { randomInt, seededRandom } from './random';

/** The faults the demo injects, by what the agent sees. */
export interface DemoFaultCounts {
  /** 429 with `retry-after: 1`. */
  readonly rateLimited: number;
  /** Anthropic 529 / OpenAI 503. */
  readonly overloaded: number;
  /** 401: the key refused. */
  readonly unauthorized: number;
}

/** Shares of model requests answered with each fault (the rest succeed). */
export interface DemoFaultRates {
  readonly rateLimited: number;
  readonly overloaded: number;
  readonly unauthorized: number;
}

/** @default 5 % rate limits, 5 % overloads, 2 % refused keys */
export const DEFAULT_DEMO_FAULT_RATES: DemoFaultRates = { rateLimited: 0.05, overloaded: 0.05, unauthorized: 0.02 };

export interface DemoFaultPlan {
  /** The provider API fake's script for a provider: faults and replies (latency 40–160 ms, seeded usage). */
  script(provider: ProviderId): () => FakeStep;
  /** What was served so far, per provider. */
  served(provider: ProviderId): DemoFaultCounts & { readonly replies: number };
}

const PROVIDER_STREAM: Readonly<Record<ProviderId, number>> = { claude: 1, openai: 2 };
/** Claude model requests from this ordinal on answer 529 six times in a row: enough to open its circuit. */
const BURST_LENGTH = 6;

/**
 * The demo's scripted provider behaviour, reproducible from a seed: each provider draws from its
 * own seeded stream per model request (so one provider's traffic does not shift the other's), and
 * Claude gets one burst of overloads that opens its circuit breaker. Which agent meets which fault
 * depends on timing; the sequence of answers each provider gives does not.
 *
 * @example
 * const plan = createDemoFaultPlan(7);
 * const fake = await startProviderApiFake({ keys, script: { claude: plan.script('claude'), openai: plan.script('openai') } });
 */
export function createDemoFaultPlan(seed: number, rates: DemoFaultRates = DEFAULT_DEMO_FAULT_RATES): DemoFaultPlan {
  const counts: Record<
    ProviderId,
    { rateLimited: number; overloaded: number; unauthorized: number; replies: number; ordinal: number }
  > = {
    claude: { rateLimited: 0, overloaded: 0, unauthorized: 0, replies: 0, ordinal: 0 },
    openai: { rateLimited: 0, overloaded: 0, unauthorized: 0, replies: 0, ordinal: 0 },
  };
  const burstStart = randomInt(seededRandom(seed), 10, 18);

  const next = (provider: ProviderId, random: () => number): FakeStep => {
    const c = counts[provider];
    c.ordinal += 1;
    const delayMs = randomInt(random, 40, 160);
    const roll = random();
    const usage = { inputTokens: randomInt(random, 800, 3000), outputTokens: randomInt(random, 150, 1200) };
    if (provider === 'claude' && c.ordinal >= burstStart && c.ordinal < burstStart + BURST_LENGTH) {
      c.overloaded += 1;
      return fakeStep.error('overloaded', { delayMs });
    }
    if (roll < rates.rateLimited) {
      c.rateLimited += 1;
      return fakeStep.error('rateLimited', { retryAfterSeconds: 1, delayMs });
    }
    if (roll < rates.rateLimited + rates.overloaded) {
      c.overloaded += 1;
      return fakeStep.error('overloaded', { delayMs });
    }
    if (roll < rates.rateLimited + rates.overloaded + rates.unauthorized) {
      c.unauthorized += 1;
      return fakeStep.error('unauthorized', { delayMs });
    }
    c.replies += 1;
    return fakeStep.reply({ text: 'done', usage, delayMs });
  };

  const randoms: Record<ProviderId, () => number> = {
    claude: seededRandom(seed * 3 + PROVIDER_STREAM.claude),
    openai: seededRandom(seed * 3 + PROVIDER_STREAM.openai),
  };
  return {
    script: (provider) => () => next(provider, randoms[provider]),
    served: (provider) => {
      const { rateLimited, overloaded, unauthorized, replies } = counts[provider];
      return { rateLimited, overloaded, unauthorized, replies };
    },
  };
}

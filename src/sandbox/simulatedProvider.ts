import type { ProviderId } from '../../machines/providers';
import { randomInt, seededRandom } from './random';

export interface SimulatedProviderOptions {
  /** The key each provider accepts; any other key gets a 401, as the real APIs answer. */
  readonly keys: Readonly<Record<ProviderId, string>>;
  /** Share of requests answered with an overloaded error (529 for Anthropic, 503 for OpenAI). @default { claude: 0.08, openai: 0.02 } */
  readonly failureRate?: Readonly<Partial<Record<ProviderId, number>>>;
  /** @default [5, 25] */
  readonly latencyMs?: readonly [number, number];
  /** @default 1 */
  readonly seed?: number;
}

export interface CompletionRequest {
  readonly provider: ProviderId;
  readonly apiKey: string | undefined;
  /** The most tokens the answer may use (the agent's remaining allocation). */
  readonly maxTokens: number;
}

export type CompletionResult =
  | { readonly ok: true; readonly usage: { readonly inputTokens: number; readonly outputTokens: number } }
  | { readonly ok: false; readonly status: number; readonly message: string };

/**
 * An in-process stand-in for the Anthropic and OpenAI APIs, for the demo: it checks the key it is
 * sent, answers after a random latency with usage, and sometimes fails with the status the real
 * provider uses when overloaded. The loopback HTTP fakes (the real wire formats) replace it for
 * tests of real agent CLIs.
 */
export class SimulatedProvider {
  readonly #options: Required<SimulatedProviderOptions>;
  readonly #random: () => number;
  #requests = 0;

  constructor(options: SimulatedProviderOptions) {
    this.#options = {
      keys: options.keys,
      failureRate: options.failureRate ?? { claude: 0.08, openai: 0.02 },
      latencyMs: options.latencyMs ?? [5, 25],
      seed: options.seed ?? 1,
    };
    this.#random = seededRandom(this.#options.seed);
  }

  get requests(): number {
    return this.#requests;
  }

  async complete(request: CompletionRequest): Promise<CompletionResult> {
    this.#requests += 1;
    const [min, max] = this.#options.latencyMs;
    const latency = randomInt(this.#random, min, max);
    const roll = this.#random();
    const input = randomInt(this.#random, 800, 4000);
    const output = randomInt(this.#random, 200, 1500);
    await new Promise((resolve) => setTimeout(resolve, latency));
    if (request.apiKey !== this.#options.keys[request.provider]) {
      return {
        ok: false,
        status: 401,
        message:
          request.provider === 'claude'
            ? 'authentication_error: invalid x-api-key'
            : 'invalid_api_key: Incorrect API key provided',
      };
    }
    if (roll < (this.#options.failureRate[request.provider] ?? 0)) {
      return request.provider === 'claude'
        ? { ok: false, status: 529, message: 'overloaded_error: Overloaded' }
        : { ok: false, status: 503, message: 'The server is overloaded or not ready yet.' };
    }
    const budget = Math.max(0, request.maxTokens);
    const inputTokens = Math.min(input, budget);
    return { ok: true, usage: { inputTokens, outputTokens: Math.min(output, budget - inputTokens) } };
  }
}

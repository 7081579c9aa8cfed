import { randomBytes } from 'node:crypto';
import type { ProviderId } from '../../machines/providers';
import type { FakeAuthScheme, FakeFault } from './fakeScript';

/** One error as a provider sends it: status, JSON body and headers. */
export interface ProviderErrorAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
  /** `error.type` (Anthropic) or `error.code ?? error.type` (OpenAI), for in-stream error events. */
  readonly errorCode: string;
  readonly message: string;
}

interface AnthropicShape {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

interface OpenAiShape {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly message: string;
}

// Messages are the real APIs' wording (trimmed), so clients print what they would print in production.
const ANTHROPIC_FAULTS: Readonly<Record<FakeFault, AnthropicShape>> = {
  unauthorized: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' },
  forbidden: {
    status: 403,
    type: 'permission_error',
    message: 'Your API key does not have permission to use the specified resource.',
  },
  rateLimited: {
    status: 429,
    type: 'rate_limit_error',
    message:
      'Number of request tokens has exceeded your per-minute rate limit (https://docs.claude.com/en/api/rate-limits); ' +
      'see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.',
  },
  insufficientQuota: {
    status: 400,
    type: 'invalid_request_error',
    message:
      'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
  },
  overloaded: { status: 529, type: 'overloaded_error', message: 'Overloaded' },
  serverError: { status: 500, type: 'api_error', message: 'Internal server error' },
  unavailable: { status: 503, type: 'api_error', message: 'Service unavailable' },
  notFound: { status: 404, type: 'not_found_error', message: 'Not Found' },
  invalidRequest: { status: 400, type: 'invalid_request_error', message: 'Invalid request' },
};

const OPENAI_FAULTS: Readonly<Record<FakeFault, OpenAiShape>> = {
  unauthorized: {
    status: 401,
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
  },
  forbidden: {
    status: 403,
    type: 'request_forbidden',
    code: 'unsupported_country_region_territory',
    message: 'Country, region, or territory not supported',
  },
  rateLimited: {
    status: 429,
    type: 'tokens',
    code: 'rate_limit_exceeded',
    message:
      'Rate limit reached for requests on tokens per min (TPM): Limit 30000, Used 30000, Requested 500. ' +
      'Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.',
  },
  insufficientQuota: {
    status: 429,
    type: 'insufficient_quota',
    code: 'insufficient_quota',
    message:
      'You exceeded your current quota, please check your plan and billing details. ' +
      'For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
  },
  overloaded: { status: 503, type: 'server_error', code: null, message: 'The server is overloaded or not ready yet.' },
  serverError: {
    status: 500,
    type: 'server_error',
    code: null,
    message: 'The server had an error while processing your request. Sorry about that!',
  },
  unavailable: { status: 503, type: 'server_error', code: null, message: 'The server is overloaded or not ready yet.' },
  notFound: {
    status: 404,
    type: 'invalid_request_error',
    code: 'model_not_found',
    message: 'The model does not exist or you do not have access to it.',
  },
  invalidRequest: { status: 400, type: 'invalid_request_error', code: null, message: 'Invalid request' },
};

export interface ErrorAnswerOptions {
  readonly status?: number;
  readonly message?: string;
  readonly retryAfterSeconds?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** How the credential came: a wrong Claude Bearer is an 'Invalid bearer token'. */
  readonly authScheme?: FakeAuthScheme;
  /**
   * A Claude login (OAuth, subscription) request: limited by the unified rate-limit headers instead.
   * @default authScheme === 'bearer'
   */
  readonly login?: boolean;
  readonly now?: number;
}

/** A request id in the provider's style, sent with every answer (`request-id` / `x-request-id`). */
export function requestId(): string {
  return `req_fake${randomBytes(10).toString('hex')}`;
}

function anthropicRateLimitHeaders(resetAt: string, login: boolean, resetEpochSeconds: number): Record<string, string> {
  if (login) {
    return {
      'anthropic-ratelimit-unified-status': 'rejected',
      'anthropic-ratelimit-unified-reset': String(resetEpochSeconds),
      'anthropic-ratelimit-unified-representative-claim': 'five_hour',
    };
  }
  return {
    'anthropic-ratelimit-requests-limit': '50',
    'anthropic-ratelimit-requests-remaining': '0',
    'anthropic-ratelimit-requests-reset': resetAt,
    'anthropic-ratelimit-tokens-limit': '40000',
    'anthropic-ratelimit-tokens-remaining': '0',
    'anthropic-ratelimit-tokens-reset': resetAt,
    'anthropic-ratelimit-input-tokens-limit': '30000',
    'anthropic-ratelimit-input-tokens-remaining': '0',
    'anthropic-ratelimit-input-tokens-reset': resetAt,
    'anthropic-ratelimit-output-tokens-limit': '10000',
    'anthropic-ratelimit-output-tokens-remaining': '0',
    'anthropic-ratelimit-output-tokens-reset': resetAt,
  };
}

function openAiRateLimitHeaders(retryAfterSeconds: number): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': '500',
    'x-ratelimit-remaining-requests': '0',
    'x-ratelimit-reset-requests': `${retryAfterSeconds}s`,
    'x-ratelimit-limit-tokens': '30000',
    'x-ratelimit-remaining-tokens': '0',
    'x-ratelimit-reset-tokens': `${retryAfterSeconds}s`,
  };
}

/**
 * The error a provider sends for `fault`: Anthropic `{type:'error',error:{type,message}}` with
 * `request-id`, OpenAI `{error:{message,type,param,code}}` with `x-request-id`; 429s carry
 * `retry-after` and the provider's rate-limit headers (for a Claude login, the unified
 * subscription headers).
 *
 * @example
 * providerErrorAnswer('openai', 'insufficientQuota').status // 429, code 'insufficient_quota'
 */
export function providerErrorAnswer(
  provider: ProviderId,
  fault: FakeFault,
  options: ErrorAnswerOptions = {},
): ProviderErrorAnswer {
  const now = options.now ?? Date.now();
  const retryAfterSeconds = options.retryAfterSeconds ?? (fault === 'rateLimited' ? 1 : undefined);
  const headers: Record<string, string> = {};
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  const limited = fault === 'rateLimited' || (provider === 'openai' && fault === 'insufficientQuota');
  if (provider === 'claude') {
    const shape = ANTHROPIC_FAULTS[fault];
    const message =
      options.message ??
      (fault === 'unauthorized' && options.authScheme === 'bearer' ? 'Invalid bearer token' : shape.message);
    headers['request-id'] = requestId();
    if (limited) {
      const resetMs = now + (retryAfterSeconds ?? 1) * 1000;
      Object.assign(
        headers,
        anthropicRateLimitHeaders(
          new Date(resetMs).toISOString(),
          options.login ?? options.authScheme === 'bearer',
          Math.ceil(resetMs / 1000),
        ),
      );
    }
    Object.assign(headers, options.headers);
    return {
      status: options.status ?? shape.status,
      body: { type: 'error', error: { type: shape.type, message } },
      headers,
      errorCode: shape.type,
      message,
    };
  }
  const shape = OPENAI_FAULTS[fault];
  const message = options.message ?? shape.message;
  headers['x-request-id'] = requestId();
  if (limited) Object.assign(headers, openAiRateLimitHeaders(retryAfterSeconds ?? 1));
  Object.assign(headers, options.headers);
  return {
    status: options.status ?? shape.status,
    body: { error: { message, type: shape.type, param: null, code: shape.code } },
    headers,
    errorCode: shape.code ?? shape.type,
    message,
  };
}

/** A 401 for a request that carried no credential at all, worded as each API words it. */
export function missingCredentialAnswer(provider: ProviderId): ProviderErrorAnswer {
  return provider === 'claude'
    ? providerErrorAnswer('claude', 'unauthorized', { message: 'x-api-key header is required' })
    : providerErrorAnswer('openai', 'unauthorized', {
        message:
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      });
}

/** The real APIs' 404 for a path they do not serve. */
export function unknownRouteAnswer(provider: ProviderId, method: string, path: string): ProviderErrorAnswer {
  if (provider === 'claude') return providerErrorAnswer('claude', 'notFound', { message: 'Not Found' });
  return providerErrorAnswer('openai', 'invalidRequest', { status: 404, message: `Invalid URL (${method} ${path})` });
}

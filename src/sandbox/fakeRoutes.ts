import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderId } from '../../machines/providers';

/** What the fake recognised a request as. `probe` is Claude Code's `HEAD /` before its first call. */
export const FAKE_ROUTES = [
  'anthropic.messages',
  'anthropic.countTokens',
  'anthropic.models',
  'openai.responses',
  'openai.chatCompletions',
  'openai.models',
  'probe',
  'unknown',
] as const;

export type FakeRoute = (typeof FAKE_ROUTES)[number];

/** A request's route, and the provider whose API it belongs to. */
export interface RoutedRequest {
  readonly route: FakeRoute;
  readonly provider: ProviderId;
}

function isAnthropicLooking(headers: IncomingHttpHeaders): boolean {
  return headers['anthropic-version'] !== undefined || headers['x-api-key'] !== undefined;
}

/**
 * The route a request takes in the provider API fake. `/v1/models`, `/` and unknown paths belong to
 * Anthropic when `anthropic-version` or `x-api-key` was sent, else to OpenAI.
 *
 * @example
 * routeOf('POST', '/v1/messages/', {}); // { route: 'anthropic.messages', provider: 'claude' }
 */
export function routeOf(method: string, pathname: string, headers: IncomingHttpHeaders): RoutedRequest {
  const guessed: ProviderId = isAnthropicLooking(headers) ? 'claude' : 'openai';
  const path = pathname.replace(/\/+$/, '') || '/';
  if ((method === 'HEAD' || method === 'GET') && path === '/') return { route: 'probe', provider: guessed };
  if (method === 'POST' && path === '/v1/messages') return { route: 'anthropic.messages', provider: 'claude' };
  if (method === 'POST' && path === '/v1/messages/count_tokens')
    return { route: 'anthropic.countTokens', provider: 'claude' };
  if (method === 'POST' && path === '/v1/responses') return { route: 'openai.responses', provider: 'openai' };
  if (method === 'POST' && path === '/v1/chat/completions')
    return { route: 'openai.chatCompletions', provider: 'openai' };
  if (method === 'GET' && path === '/v1/models')
    return { route: guessed === 'claude' ? 'anthropic.models' : 'openai.models', provider: guessed };
  return { route: 'unknown', provider: guessed };
}

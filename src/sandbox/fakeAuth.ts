import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderId } from '../../machines/providers';
import { missingCredentialAnswer, providerErrorAnswer } from './fakeErrors';
import type { ProviderErrorAnswer } from './fakeErrors';
import type { PresentedCredential } from './fakeHttp';

const OAUTH_BETA = 'oauth-2025-04-20';

/**
 * The credentials a provider accepts, as a list; `undefined` (any non-empty one) stays so.
 *
 * @example
 * asKeyList('sk-test'); // ['sk-test']
 */
export function asKeyList(keys: string | readonly string[] | undefined): readonly string[] | undefined {
  if (keys === undefined) return undefined;
  return typeof keys === 'string' ? [keys] : keys;
}

/**
 * Why a request's credential is refused (the provider's real 401), or `undefined` when it is accepted.
 *
 * @example
 * const refusal = authRefusal('openai', presentedCredential(req.headers), ['sk-test'], req.headers, true);
 * if (refusal !== undefined) sendJson(res, refusal.status, refusal.body, refusal.headers);
 */
export function authRefusal(
  provider: ProviderId,
  presented: PresentedCredential,
  accepted: readonly string[] | undefined,
  headers: IncomingHttpHeaders,
  requireOAuthBeta: boolean,
): ProviderErrorAnswer | undefined {
  if (presented.credential === null) return missingCredentialAnswer(provider);
  const value = presented.credential.reveal();
  if (provider === 'claude' && presented.login && requireOAuthBeta) {
    const betas = String(headers['anthropic-beta'] ?? '')
      .split(',')
      .map((beta) => beta.trim());
    if (!betas.includes(OAUTH_BETA)) {
      return providerErrorAnswer('claude', 'unauthorized', {
        message: 'OAuth authentication is currently not supported.',
        authScheme: 'bearer',
      });
    }
  }
  if (accepted === undefined || accepted.includes(value)) return undefined;
  if (provider === 'openai') {
    return providerErrorAnswer('openai', 'unauthorized', {
      message: `Incorrect API key provided: ${presented.hint}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    });
  }
  return providerErrorAnswer('claude', 'unauthorized', { authScheme: presented.scheme, login: presented.login });
}

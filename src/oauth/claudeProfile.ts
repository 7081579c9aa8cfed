import type { Secret } from '../../machines/secret';
import { MAX_HTTP_BODY_BYTES, readBoundedBody } from '../storage/boundedRead';
import type { FetchLike, OAuthOrganization } from './tokenEndpoint';

/** Anthropic's OAuth profile, as Claude Code asks it for the subscription after a login (unofficial). */
export const CLAUDE_PROFILE_URL = 'https://api.anthropic.com/api/oauth/profile';
/** The token endpoints Claude Code has used; their logins' profile is `CLAUDE_PROFILE_URL`. */
const ANTHROPIC_TOKEN_HOSTS = ['console.anthropic.com', 'platform.claude.com'];

/**
 * Claude Code's names for the plans (`organization.organization_type` in the profile), as it
 * stores them in `subscriptionType`; any other value gives `null`.
 *
 * @example subscriptionTierOf('claude_max') // 'max'
 */
export function subscriptionTierOf(organizationType: unknown): 'max' | 'pro' | 'team' | 'enterprise' | null {
  switch (organizationType) {
    case 'claude_max':
      return 'max';
    case 'claude_pro':
      return 'pro';
    case 'claude_team':
      return 'team';
    case 'claude_enterprise':
      return 'enterprise';
    default:
      return null;
  }
}

/**
 * Where the profile of a login from `tokenEndpoint` is asked: Anthropic's profile for Anthropic's
 * token endpoints, else `/api/oauth/profile` on the token endpoint's own origin, so a token issued by
 * another server (a proxy, a test fake) is only ever shown to that server.
 *
 * @example defaultProfileUrl('http://127.0.0.1:4000/v1/oauth/token') // 'http://127.0.0.1:4000/api/oauth/profile'
 */
export function defaultProfileUrl(tokenEndpoint: string): string {
  const url = new URL(tokenEndpoint);
  return url.protocol === 'https:' && ANTHROPIC_TOKEN_HOSTS.includes(url.hostname)
    ? CLAUDE_PROFILE_URL
    : new URL('/api/oauth/profile', url).href;
}

/** Where a login's tier came from: the token answer, the profile, or nowhere (`null` tier). */
export type TierSource = 'token-response' | 'profile' | null;

export interface LoginTierRequest {
  /** The organization of the token answer, which may name its plan (`organization_type`). */
  readonly organization: OAuthOrganization | null;
  readonly accessToken: Secret;
  /** `null`: do not ask. */
  readonly profileUrl: string | null;
  readonly timeoutMs: number;
  readonly fetch: FetchLike;
  readonly signal?: AbortSignal;
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** One GET of the profile with the access token; its plan, or null on any failure (the login stands without it). */
async function profileTier(
  request: LoginTierRequest & { readonly profileUrl: string },
): Promise<ReturnType<typeof subscriptionTierOf>> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), request.timeoutMs);
  const onAbort = (): void => controller.abort();
  request.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const response = await request.fetch(request.profileUrl, {
      method: 'GET',
      headers: { authorization: `Bearer ${request.accessToken.reveal()}`, accept: 'application/json' },
      redirect: 'manual',
      signal: controller.signal,
    });
    const { text, overLimit } = await readBoundedBody(response, MAX_HTTP_BODY_BYTES);
    if (!response.ok || overLimit) return null;
    const profile = record(JSON.parse(text));
    const fromType = subscriptionTierOf(record(profile?.organization)?.organization_type);
    if (fromType !== null) return fromType;
    // Older profiles: flags on the account.
    const account = record(profile?.account);
    return account?.has_claude_max === true ? 'max' : account?.has_claude_pro === true ? 'pro' : null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The subscription tier of a fresh Claude login, for ranking it (a Max login ranks as Max): the
 * token answer's `organization.organization_type` when it has one, else the OAuth profile's (one
 * GET with the access token, bounded by `timeoutMs`). Never fails: an unknown tier is `null`.
 *
 * @example const { tier } = await loginTier({ organization, accessToken, profileUrl: CLAUDE_PROFILE_URL, timeoutMs: 10_000, fetch });
 */
export async function loginTier(request: LoginTierRequest): Promise<{ tier: string | null; source: TierSource }> {
  const fromAnswer = subscriptionTierOf(request.organization?.organizationType);
  if (fromAnswer !== null) return { tier: fromAnswer, source: 'token-response' };
  if (request.profileUrl === null) return { tier: null, source: null };
  const fromProfile = await profileTier({ ...request, profileUrl: request.profileUrl });
  return fromProfile === null ? { tier: null, source: null } : { tier: fromProfile, source: 'profile' };
}

import { createHash, timingSafeEqual } from 'node:crypto';
import { AgentvisorError } from '../errors';

/** The pieces of the PKCE login's loopback callback: S256, the `state` check, its pages and its failures. */

/**
 * Bytes as base64url (RFC 4648 §5, no padding): verifiers, challenges and `state`.
 *
 * @example
 * const state = base64url(randomBytes(32)); // 43 characters
 */
export const base64url = (bytes: Buffer): string => bytes.toString('base64url');

/**
 * RFC 7636 S256: BASE64URL(SHA-256(ASCII(verifier))).
 *
 * @example
 * s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'); // 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' (RFC 7636 appendix B)
 */
export function s256(verifier: string): string {
  return base64url(createHash('sha256').update(verifier, 'ascii').digest());
}

/**
 * Compares a callback's `state` with the login's in constant time.
 *
 * @example
 * if (given === null || !sameText(given, state)) refuse();
 */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * An OAuth `error` value is a short ASCII code; anything else is not echoed.
 *
 * @example
 * safeOauthError('access_denied'); // 'access_denied'
 * safeOauthError('<script>'); // null
 */
export function safeOauthError(value: string | null): string | null {
  return value !== null && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : null;
}

/**
 * Fixed pages: nothing from the request is reflected into them.
 *
 * @example
 * res.end(page('Login complete', 'You are logged in. You can close this window.'));
 */
export function page(title: string, text: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;
}

/**
 * A failed login (`auth-failed`, `details.reason`); the message says nothing was stored.
 *
 * @example
 * loginFailed('cancelled', 'The OAuth login was cancelled; the callback server was closed.');
 */
export function loginFailed(reason: string, message: string, extra: Record<string, unknown> = {}): AgentvisorError {
  return new AgentvisorError('auth-failed', `${message} Nothing was stored; start the login again.`, {
    details: { reason, ...extra },
  });
}

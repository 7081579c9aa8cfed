/**
 * Decodes the payload (claims) of a JWT without checking its signature: the token is only read
 * for display facts such as the plan, never trusted for access decisions. Returns `null` for
 * anything that is not three dot-separated base64url parts with a JSON object in the middle.
 * Never throws and never reports the token's text.
 */
export function decodeJwtClaims(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const payload = parts[1];
  if (payload === undefined || payload === '' || !/^[A-Za-z0-9_-]+={0,2}$/.test(payload)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  return value as Record<string, unknown>;
}

/** A JWT's `exp` claim as epoch ms, or `null` when the token is not a JWT or has no usable `exp`. */
export function jwtExpiresAt(token: string): number | null {
  const exp = decodeJwtClaims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : null;
}

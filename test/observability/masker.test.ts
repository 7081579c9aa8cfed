import { Secret } from '../../src';
import { MASKED, SecretMasker, maskText, sanitizeValue } from '../../src/observability';

const TOKEN = 'oauth-token-0123456789abcdef';
const KEY = 'sk-ant-api03-MaskerTestKeyBody0123456789WXYZ';
const JWT = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0LXVzZXIifQ.c2lnbmF0dXJl';

describe('SecretMasker', () => {
  it('should replace a registered value wherever it appears, as often as it appears', () => {
    const masker = new SecretMasker();
    expect(masker.add(TOKEN)).toBe(true);
    expect(masker.mask(`401: token ${TOKEN} expired; header Bearer ${TOKEN}`)).toBe(
      '401: token [REDACTED] expired; header Bearer [REDACTED]',
    );
  });

  it('should take a Secret and register its value', () => {
    const masker = new SecretMasker();
    expect(masker.add(new Secret(TOKEN))).toBe(true);
    expect(masker.has(TOKEN)).toBe(true);
    expect(masker.mask(`x${TOKEN}y`)).toBe('x[REDACTED]y');
  });

  it('should answer false for a value it already knows, and ignore empty, missing and short values', () => {
    const masker = new SecretMasker();
    masker.add(TOKEN);
    const size = masker.size;
    expect(masker.add(TOKEN)).toBe(false);
    expect(masker.add('')).toBe(false);
    expect(masker.add(undefined)).toBe(false);
    expect(masker.add(null)).toBe(false);
    expect(masker.add('1234567')).toBe(false);
    expect(masker.size).toBe(size);
    expect(masker.mask('1234567 true')).toBe('1234567 true');
  });

  it('should mask the JSON-escaped and URL-encoded forms of a value', () => {
    const masker = new SecretMasker();
    const odd = 'tok"en/with+odd=chars\\x';
    masker.add(odd);
    expect(masker.mask(JSON.stringify({ t: odd }))).toBe(`{"t":"${MASKED}"}`);
    expect(masker.mask(`?token=${encodeURIComponent(odd)}&x=1`)).toBe(`?token=${MASKED}&x=1`);
  });

  it('should mask the longer of two overlapping values whole', () => {
    const masker = new SecretMasker();
    masker.add('abcdefgh12');
    masker.add('abcdefgh12345678');
    expect(masker.mask('v=abcdefgh12345678')).toBe('v=[REDACTED]');
  });

  it('should show unregistered key-shaped text as its hint and mask unregistered JWTs', () => {
    const masker = new SecretMasker();
    expect(masker.mask(`bad key ${KEY}`)).toBe('bad key sk-ant-…WXYZ');
    expect(masker.mask(`id_token ${JWT} end`)).toBe('id_token [REDACTED] end');
    expect(maskText(null, `bad key ${KEY} ${JWT}`)).toBe('bad key sk-ant-…WXYZ [REDACTED]');
  });

  it('should treat regular-expression characters in a value literally', () => {
    const masker = new SecretMasker();
    masker.add('a.b*c+d?e(f)g[h]');
    expect(masker.mask('aXb*c+d?e(f)g[h] a.b*c+d?e(f)g[h]')).toBe('aXb*c+d?e(f)g[h] [REDACTED]');
  });
});

describe('sanitizeValue', () => {
  it('should mask strings at any depth, turn a Secret into [REDACTED] and keep other values', () => {
    const masker = new SecretMasker();
    masker.add(TOKEN);
    const value = { a: { b: [{ c: `x ${TOKEN}` }] }, secret: new Secret(TOKEN), n: 3, ok: true, none: null };
    expect(sanitizeValue(value, masker)).toEqual({
      a: { b: [{ c: 'x [REDACTED]' }] },
      secret: '[REDACTED]',
      n: 3,
      ok: true,
      none: null,
    });
  });

  it('should turn Maps into objects and Sets into arrays, drop functions and cut cycles', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const value = { map: new Map([['k', TOKEN]]), set: new Set([1, 2]), fn: () => 1, cyclic, big: BigInt(7) };
    const masker = new SecretMasker();
    masker.add(TOKEN);
    expect(sanitizeValue(value, masker)).toEqual({
      map: { k: '[REDACTED]' },
      set: [1, 2],
      cyclic: { name: 'loop', self: '[Circular]' },
      big: '7',
    });
  });

  it('should keep a value that appears twice side by side (only a value inside itself is a cycle)', () => {
    const shared = { v: 1 };
    expect(sanitizeValue({ a: shared, b: shared }, null)).toEqual({ a: { v: 1 }, b: { v: 1 } });
  });

  it("should honour toJSON and mask an Error's message", () => {
    const masker = new SecretMasker();
    masker.add(TOKEN);
    const error = Object.assign(new Error(`refresh failed for ${TOKEN}`), { code: 'E1' });
    expect(sanitizeValue({ when: new Date(0), error }, masker)).toEqual({
      when: '1970-01-01T00:00:00.000Z',
      error: { name: 'Error', message: 'refresh failed for [REDACTED]', code: 'E1' },
    });
  });

  it('should cut values deeper than maxDepth', () => {
    expect(sanitizeValue({ a: { b: { c: 1 } } }, null, { maxDepth: 2 })).toEqual({ a: { b: '[Truncated]' } });
  });
});

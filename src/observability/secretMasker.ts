import { Secret } from '../../machines/secret';
import { maskKeyLike } from '../providers';

/** What a known secret becomes in masked text. */
export const MASKED = '[REDACTED]';

/**
 * Values shorter than this are not registered: masking `1` or `true` would garble ordinary text,
 * and no key or token is that short.
 */
export const MIN_SECRET_LENGTH = 8;

/** A JSON Web Token (ChatGPT access and id tokens): three base64url parts, the first a JSON header. */
const JWT_LIKE = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Masks secrets by value: every key and token registered with `add` is replaced by `[REDACTED]`
 * wherever it appears (a provider's error message, an agent's stderr, a log line), including its
 * JSON-escaped and URL-encoded forms. Key-shaped text (`sk-…`) that was never registered is still
 * shown only as its hint, and JWT-shaped text is masked too, as a safety net.
 *
 * The orchestrator registers every credential it hands to a session; the CLI shares one masker
 * between its logger, its output and the orchestrator.
 *
 * @example
 * const masker = new SecretMasker();
 * masker.add('oauth-token-abcdef123456');
 * masker.mask('401: token oauth-token-abcdef123456 expired'); // '401: token [REDACTED] expired'
 */
export class SecretMasker {
  readonly #values = new Set<string>();
  #pattern: RegExp | null = null;

  /** How many distinct forms are registered (a value and its encoded forms count separately). */
  get size(): number {
    return this.#values.size;
  }

  /**
   * Registers a secret (a string or a `Secret`). Returns true when it was new. Empty and short
   * values (under MIN_SECRET_LENGTH characters) are ignored.
   */
  add(value: string | Secret | null | undefined): boolean {
    const raw = value instanceof Secret ? value.reveal() : value;
    if (typeof raw !== 'string' || raw.length < MIN_SECRET_LENGTH || this.#values.has(raw)) return false;
    for (const form of [raw, JSON.stringify(raw).slice(1, -1), encodeURIComponent(raw)]) this.#values.add(form);
    this.#pattern = null;
    return true;
  }

  /** True when the value is registered. */
  has(value: string): boolean {
    return this.#values.has(value);
  }

  /**
   * The text with every registered secret replaced by `[REDACTED]`, unregistered key-shaped text
   * replaced by its hint, and JWT-shaped text by `[REDACTED]`.
   */
  mask(text: string): string {
    let out = text;
    if (this.#values.size > 0) {
      this.#pattern ??= new RegExp(
        [...this.#values]
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join('|'),
        'g',
      );
      out = out.replace(this.#pattern, MASKED);
    }
    return maskKeyLike(out).replace(JWT_LIKE, MASKED);
  }
}

/**
 * Masks a whole text with a masker when there is one, else with the value-independent safety nets
 * (key-shaped and JWT-shaped text).
 *
 * @example maskText(null, 'key sk-ant-api03-abcdefghijklmnopWXYZ') // 'key sk-ant-…WXYZ'
 */
export function maskText(masker: SecretMasker | null, text: string): string {
  return masker ? masker.mask(text) : maskKeyLike(text).replace(JWT_LIKE, MASKED);
}

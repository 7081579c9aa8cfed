const REDACTED = '[REDACTED]';

/**
 * A secret value that cannot leak by accident: JSON, string conversion and `util.inspect` all print
 * `[REDACTED]`, so a snapshot, a log line or an inspection event that carries it shows no secret.
 * Only `reveal()` returns the value; call it at the one place the value must leave the process.
 *
 * @example
 * const key = new Secret('sk-ant-…');
 * JSON.stringify({ key }); // '{"key":"[REDACTED]"}'
 * key.reveal();            // 'sk-ant-…'
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${REDACTED})`;
  }
}

/**
 * Whether a value is a plain object (not null, not an array).
 *
 * @example isRecord({ error: {} }) // true
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An error type or code is shown in messages: short identifiers only. */
function identifier(value: unknown): string | null {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : null;
}

/**
 * A string with something other than whitespace in it, else `null`.
 *
 * @example nonEmpty('  ') // null
 */
export function nonEmpty(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

/** What a provider's error body said, each part `null` when it said nothing usable. */
export interface ErrorBody {
  readonly type: string | null;
  readonly code: string | null;
  readonly message: string | null;
  /** The ChatGPT backend's `usage_limit_reached` carries `resets_at` (epoch s) / `resets_in_seconds`. */
  readonly resetAt: number | null;
}

const EMPTY_BODY: ErrorBody = { type: null, code: null, message: null, resetAt: null };

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function bodyResetAt(error: Record<string, unknown>, now: number): number | null {
  const { resets_at: at, resets_in_seconds: inSeconds } = error;
  if (typeof at === 'number' && Number.isFinite(at) && at > 0) return at * 1000;
  if (typeof inSeconds === 'number' && Number.isFinite(inSeconds) && inSeconds >= 0) return now + inSeconds * 1000;
  return null;
}

/**
 * Reads Anthropic `{type:'error', error:{type, message}}` and OpenAI `{error:{message, type, code}}`; other text is the message.
 *
 * @example readErrorBody({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, Date.now()).type // 'overloaded_error'
 */
export function readErrorBody(body: unknown, now: number): ErrorBody {
  let value = body;
  if (typeof body === 'string') {
    value = parseJson(body);
    if (value === undefined) return { ...EMPTY_BODY, message: nonEmpty(body) };
  }
  if (!isRecord(value)) return EMPTY_BODY;
  const { error } = value;
  if (typeof error === 'string') return { ...EMPTY_BODY, message: nonEmpty(error) };
  if (!isRecord(error)) return { ...EMPTY_BODY, message: nonEmpty(value.message) };
  return {
    type: identifier(error.type),
    code: identifier(error.code),
    message: nonEmpty(error.message),
    resetAt: bodyResetAt(error, now),
  };
}

/**
 * The JSON object quoted inside a CLI message such as `API Error: 529 {"type":"error",…}`.
 *
 * @example embeddedErrorBody('API Error: 529 {"type":"error","error":{"type":"overloaded_error"}}', Date.now()).type // 'overloaded_error'
 */
export function embeddedErrorBody(text: string, now: number): ErrorBody {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return EMPTY_BODY;
  const value = parseJson(text.slice(start, end + 1));
  return value === undefined ? EMPTY_BODY : readErrorBody(value, now);
}

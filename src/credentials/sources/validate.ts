import type { z } from 'zod';
import { AgentvisorError } from '../../errors';

/** `tokens.access_token`, `claudeAiOauth.scopes[0]`; `(root)` for the object itself. */
export function formatIssuePath(issuePath: readonly PropertyKey[]): string {
  let out = '';
  for (const key of issuePath) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * What is wrong with a field, in words that never quote the value. Zod's own messages are used
 * only for refinements written here (`custom`), which never quote the input either.
 */
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return / received undefined$/.test(issue.message)
        ? `is missing (expected ${issue.expected})`
        : `must be ${article(issue.expected)}`;
    case 'invalid_union':
      return 'has the wrong type';
    case 'too_small':
      return 'is too small';
    case 'too_big':
      return 'is too big';
    case 'invalid_format':
      return `is not a valid ${issue.format}`;
    case 'custom':
      return issue.message;
    default:
      return 'is invalid';
  }
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

export { lazySchema } from '../../schema/lazySchema';

/**
 * Validates `data` (a file's parsed JSON) against `schema`. A mismatch fails with
 * `invalid-credentials-file`, naming the file and every offending field path, never a value.
 */
export function parseCredentialsFile<S extends z.ZodType>(file: string, schema: S, data: unknown): z.output<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => ({
    field: formatIssuePath(issue.path),
    problem: describeIssue(issue),
  }));
  const list = problems.map((p) => `${p.field} ${p.problem}`).join('; ');
  // The ZodError is not kept as `cause`: it holds the parsed input.
  throw new AgentvisorError(
    'invalid-credentials-file',
    `Credentials file ${file} does not have the expected shape: ${list}. It was left as it is; fix or remove it.`,
    { details: { file, reason: 'schema', fields: problems.map((p) => p.field) } },
  );
}

/**
 * Reads an RFC 3339 date-time (`2025-06-01T12:00:00Z`, `…+02:00`, fractions allowed) to epoch ms.
 * A date-time without an offset (Python's naive `isoformat()`) is taken as UTC. Other text gives `null`.
 */
export function parseRfc3339(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/.exec(
    text.trim(),
  );
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? '0'), ms);
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d)
  )
    return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s ?? '0') > 60) return null;
  if (zone === undefined || zone === 'Z' || zone === 'z') return utc;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
  return utc - sign * offsetMin * 60_000;
}

/** An optional string where `null`, a missing key and white space alone all mean unset. */
export function presentString(value: string | null | undefined): string | null {
  return value === undefined || value === null || value.trim() === '' ? null : value.trim();
}

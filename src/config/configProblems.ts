import { z } from 'zod';
import { closestName } from './closestName';
import type { ConfigProblem } from './configTypes';

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

/**
 * A field's path as people write it: `limits.claude.dailyLimit`, `fallbackChain[1]`.
 *
 * @example fieldPath(['fallbackChain', 1]) // 'fallbackChain[1]'
 */
export function fieldPath(path: readonly PathKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out === '' ? String(key) : `${out}.${String(key)}`),
    '',
  );
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
  return current;
}

/** The schema of `key` below `schema` (through optionals, unions and lists), or null. */
function childOf(schema: z.ZodType, key: PathKey): z.ZodType | null {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject && typeof key === 'string')
    return (inner.shape as Record<string, z.ZodType>)[key] ?? null;
  if (inner instanceof z.ZodArray && typeof key === 'number') return inner.element as z.ZodType;
  if (inner instanceof z.ZodUnion) {
    for (const option of inner.options as readonly z.ZodType[]) {
      const child = childOf(option, key);
      if (child !== null) return child;
    }
  }
  return null;
}

/** The keys an object schema at `path` accepts (for a union: those of its object options). */
function knownKeysAt(root: z.ZodType, path: readonly PathKey[]): string[] {
  let schema: z.ZodType | null = root;
  for (const key of path) schema = schema === null ? null : childOf(schema, key);
  if (schema === null) return [];
  const inner = unwrap(schema);
  const objects = inner instanceof z.ZodUnion ? (inner.options as readonly z.ZodType[]).map(unwrap) : [inner];
  return objects.flatMap((o) => (o instanceof z.ZodObject ? Object.keys(o.shape as object) : []));
}

function valueAt(input: unknown, path: readonly PathKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** A value as a message may show it: short plain words are quoted, anything else (a URL may hold a password) is only named. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return /^[\w.+-]{0,40}$/.test(value) ? JSON.stringify(value) : 'a string';
  return Array.isArray(value) ? 'a list' : 'an object';
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  object: 'an object',
  array: 'a list',
  string: 'a string',
  boolean: 'true or false',
  number: 'a number',
  int: 'a whole number',
};

/** The schema's own message (they all start with "expected"), else words for zod's default. */
function expectedText(issue: Issue): string {
  if (issue.message.startsWith('expected')) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `expected ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`}`;
    default:
      return issue.message;
  }
}

/** Of a union's options, the issues of the one the value was meant for: the options that failed on its very type are out. */
function meantOption(errors: readonly (readonly Issue[])[]): readonly Issue[] | null {
  const candidates = errors.filter(
    (issues) => !issues.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')),
  );
  if (candidates.length === 0) return null;
  return [...candidates].sort((a, b) => a.length - b.length)[0]!;
}

function hint(value: unknown, options: readonly unknown[]): string {
  if (typeof value !== 'string') return '';
  const suggestion = closestName(
    value,
    options.filter((o): o is string => typeof o === 'string'),
  );
  return suggestion === null ? '' : `; did you mean ${JSON.stringify(suggestion)}?`;
}

function problemsOf(issue: Issue, root: z.ZodType, input: unknown, base: readonly PathKey[]): ConfigProblem[] {
  const path = [...base, ...issue.path];
  const value = valueAt(input, path);
  const at = (message: string): ConfigProblem[] => [{ field: fieldPath(path) || '(the file)', message }];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(root, path);
      return issue.keys.map((key) => {
        const suggestion = closestName(key, known);
        return {
          field: fieldPath([...path, key]),
          message: `unknown setting${suggestion === null ? '' : `; did you mean ${suggestion}?`}${known.length === 0 ? '' : ` (known: ${known.join(', ')})`}`,
        };
      });
    }
    case 'invalid_union': {
      const meant = meantOption(issue.errors);
      if (meant !== null) return meant.flatMap((inner) => problemsOf(inner, root, input, path));
      // Every option failed on the type itself: the first option's message describes them all.
      const first = issue.errors[0]?.[0];
      const options = issue.errors.flatMap((issues) =>
        issues.flatMap((i) => (i.code === 'invalid_value' ? i.values : [])),
      );
      return at(
        `${first === undefined ? 'not accepted' : expectedText(first)}, got ${describeValue(value)}${hint(value, options)}`,
      );
    }
    case 'invalid_value':
      return at(`${expectedText(issue)}, got ${describeValue(value)}${hint(value, issue.values)}`);
    case 'custom':
      return at(issue.message);
    default: {
      // "got a list" says nothing when the list is the right type but too short.
      const shown = describeValue(value);
      return at(
        issue.code === 'invalid_type' || (shown !== 'a list' && shown !== 'an object')
          ? `${expectedText(issue)}, got ${shown}`
          : expectedText(issue),
      );
    }
  }
}

/**
 * What is wrong with a config file, one problem per field, in the order of the file's groups.
 *
 * @example
 * configProblems(configFileSchema, input, result.error.issues)
 * // [{ field: 'limits.claude.dailyTokens', message: 'unknown setting; did you mean dailyLimit? (known: dailyLimit, maxConcurrent)' }]
 */
export function configProblems(root: z.ZodType, input: unknown, issues: readonly Issue[]): ConfigProblem[] {
  const seen = new Set<string>();
  // A value can fail several checks (not whole and too large): the first says enough.
  return issues
    .flatMap((issue) => problemsOf(issue, root, input, []))
    .filter((p) => !seen.has(p.field) && seen.add(p.field));
}

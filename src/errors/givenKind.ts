/**
 * What a value is, for a message that refuses it: `null`, `undefined`, `an array`, `a number`…
 * (never the value itself, which may be a secret).
 *
 * @example givenKind(null) // 'null'
 * @example givenKind(['a']) // 'an array'
 */
export function givenKind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

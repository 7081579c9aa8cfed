/**
 * Describes why `JSON.parse` refused a text without repeating any of the text. V8's messages can
 * quote the offending input (`Unexpected token 's', "sk-ant-…" is not valid JSON`), and a
 * credentials file's input is a secret, so only the kind of fault and its position are kept.
 */
export interface JsonFault {
  /** What is wrong, in words that never quote the file. */
  readonly reason: string;
  /** 1-based line and column, when V8 reported a position. */
  readonly line?: number;
  readonly column?: number;
}

const KINDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Unexpected end of JSON input/i, 'the JSON ends early (the file looks truncated)'],
  [/Unterminated string/i, 'a string is not terminated'],
  [/Bad control character/i, 'a string holds a raw control character'],
  [/Bad escaped character|Bad Unicode escape/i, 'a string holds an invalid escape'],
  [/Expected property name/i, 'a property name in double quotes was expected'],
  [/Expected ',' or '}'/i, "',' or '}' was expected after a property value"],
  [/Expected ',' or ']'/i, "',' or ']' was expected after an array element"],
  [/Expected ':'/i, "':' was expected after a property name"],
  [/Expected double-quoted property name/i, 'a property name in double quotes was expected'],
  [/Unexpected non-whitespace character after JSON/i, 'there is more text after the JSON value'],
  [/No number after minus sign|Exponent part is missing|Unterminated fractional number/i, 'a number is malformed'],
];

/** 1-based line and column of a character offset in `text`. */
function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(position, text.length)));
  const lastBreak = before.lastIndexOf('\n');
  let line = 1;
  for (let i = 0; i < before.length; i += 1) if (before.charCodeAt(i) === 10) line += 1;
  return { line, column: before.length - lastBreak };
}

/**
 * The fault of a failed `JSON.parse(text)`, as words and a position, never as a quote.
 *
 * @example
 * try { JSON.parse(text); } catch (err) { const { reason, line, column } = describeJsonFault(text, err); }
 */
export function describeJsonFault(text: string, error: unknown): JsonFault {
  const message = error instanceof Error ? error.message : '';
  const kind = KINDS.find(([pattern]) => pattern.test(message));
  const reason = kind?.[1] ?? 'an unexpected character';
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn?.[1] !== undefined && lineColumn[2] !== undefined) {
    return { reason, line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  }
  const position = /at position (\d+)/.exec(message);
  if (position?.[1] !== undefined) return { reason, ...lineAndColumn(text, Number(position[1])) };
  if (/Unexpected end of JSON input/i.test(message)) return { reason, ...lineAndColumn(text, text.length) };
  return { reason };
}

/**
 * Where a fault is, for a message: ` at line L, column C`, or nothing when V8 gave no position.
 *
 * @example `${file} is not valid JSON${faultPosition(fault)}` // 'a.json is not valid JSON at line 3, column 7'
 */
export function faultPosition(fault: JsonFault): string {
  return fault.line === undefined ? '' : ` at line ${fault.line}, column ${fault.column ?? 0}`;
}

/**
 * Whether the JSON text nests arrays and objects deeper than `maxDepth` (brackets inside strings
 * do not count). Checked before parsing: V8 parses deep nesting, but copying or writing the value
 * back (`structuredClone`, `JSON.stringify`) overflows the stack.
 */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '[' || char === '{') {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (char === ']' || char === '}') depth -= 1;
  }
  return false;
}

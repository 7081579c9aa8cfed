import type { z } from 'zod';
import { AgentvisorError } from '../errors';
import type { ErrorCode } from '../errors';
import type * as ConfigProblemsModule from '../config/configProblems';

/** Where a value being checked was given, for messages that say what to do. */
export interface OptionsPlace {
  /** The function it was given to: `createOrchestrator`, `spawnAgent`, `createFileLedger`. */
  readonly call: string;
  /** The option it is, when it is one (`failurePolicy`, `audit`): every field path starts with it. */
  readonly path?: string;
  /** What the value as a whole must be: `an object such as { maxRetries: 2 }`. */
  readonly expected: string;
  /** Fields whose problems carry another code (spawnAgent's `estimatedTokens` is `invalid-estimate`). */
  readonly codes?: Readonly<Record<string, ErrorCode>>;
}

const checked = new WeakSet<object>();

/**
 * Marks options an internal caller built from values that were already checked (the CLI's flags and
 * config file; a ledger config the orchestrator derives from its own): `checkOptions` passes them
 * without loading zod. Not exported from the package.
 *
 * @example createOrchestrator(alreadyChecked({ home, ...cliSettings(context, limits) }))
 */
export function alreadyChecked<T extends object>(options: T): T {
  checked.add(options);
  return options;
}

/**
 * Whether options were marked by `alreadyChecked`: a caller that builds further options from them
 * (a batch, each task's) marks those too. Not exported from the package.
 *
 * @example const taskOptions = isAlreadyChecked(batchOptions) ? alreadyChecked(built) : built;
 */
export function isAlreadyChecked(options: object): boolean {
  return checked.has(options);
}

/** Long lists of known options say less than the hint before them. */
const MAX_KNOWN_SHOWN = 12;

function sentence(field: string, message: string): string {
  if (message.startsWith('expected ')) return `${field} must be ${message.slice('expected '.length)}`;
  if (message.startsWith('unknown setting')) {
    const known = /\(known: ([^)]*)\)$/.exec(message)?.[1]?.split(', ') ?? [];
    const rest = message.slice('unknown setting'.length);
    return `${field} is not an option${known.length > MAX_KNOWN_SHOWN ? rest.replace(/ \(known: [^)]*\)$/, ' (docs/api.md lists the options)') : rest}`;
  }
  return `${field}: ${message}`;
}

function plainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks options against their schema (built on first use). A problem throws `invalid-option`
 * (or the field's code in `place.codes`) naming the field's path (`limits.claude.dailyLimit`),
 * what it must be and the value given; an unknown key gets a "did you mean" hint. Options marked
 * with `alreadyChecked` pass without loading zod. The value is never copied: what was given is used.
 *
 * @example
 * checkOptions(orchestratorOptionsSchema, options, { call: 'createOrchestrator', expected: 'an object such as { limits: {} }' });
 * // throws "fallbackchain is not an option; did you mean fallbackChain? …"
 */
export function checkOptions(schema: () => z.ZodType, value: unknown, place: OptionsPlace): void {
  const name = place.path ?? `${place.call}'s options`;
  if (!plainObject(value)) {
    throw new AgentvisorError('invalid-option', `${name} must be ${place.expected}`, {
      details: { option: place.path ?? '(options)' },
    });
  }
  if (checked.has(value)) return;
  const result = schema().safeParse(value);
  if (result.success) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- it loads zod: only a failed check needs it
  const { configProblems } = require('../config/configProblems') as typeof ConfigProblemsModule;
  const problems = configProblems(schema(), value, result.error.issues).map((p) => {
    const inner = p.field === '(the file)' ? '' : p.field;
    return {
      inner,
      field: [place.path, inner].filter((s) => s !== undefined && s !== '').join('.') || name,
      message: p.message,
    };
  });
  const [first, ...others] = problems;
  if (first === undefined)
    throw new AgentvisorError('invalid-option', `${name} were not accepted`, {
      details: { option: place.path ?? '(options)' },
    });
  const also = others.length === 0 ? '' : ` (also: ${others.map((p) => p.field).join(', ')})`;
  const code = place.codes?.[first.inner.split(/[.[]/)[0]!] ?? 'invalid-option';
  throw new AgentvisorError(code, `${sentence(first.field, first.message)}${also}`, {
    details: { option: first.field },
  });
}

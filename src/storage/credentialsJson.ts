import { AgentvisorError } from '../errors';
import { describeJsonFault, faultPosition, nestsDeeperThan } from './jsonError';

/** A credentials file's top-level JSON object. */
export type JsonRecord = Record<string, unknown>;

/** Real credentials files nest 3 or 4 levels. */
const MAX_CREDENTIALS_NESTING = 100;

/**
 * Parses the text of a credentials file into its top-level object, or throws
 * `invalid-credentials-file` naming the file and the fault, never quoting the text.
 */
export function parseCredentialsRecord(file: string, text: string): JsonRecord {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') {
    throw new AgentvisorError(
      'invalid-credentials-file',
      `Credentials file ${file} is empty; it must hold a JSON object. It was left as it is.`,
      {
        details: { file, reason: 'empty' },
      },
    );
  }
  if (nestsDeeperThan(body, MAX_CREDENTIALS_NESTING)) {
    throw new AgentvisorError(
      'invalid-credentials-file',
      `Credentials file ${file} nests arrays or objects deeper than ${MAX_CREDENTIALS_NESTING} levels, ` +
        'which no credentials file does. It was left as it is; fix or remove it.',
      { details: { file, reason: 'too-deep' } },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    // The SyntaxError is not kept as `cause`: V8 may quote the file's text in it.
    const fault = describeJsonFault(body, error);
    const where = faultPosition(fault);
    throw new AgentvisorError(
      'invalid-credentials-file',
      `Credentials file ${file} is not valid JSON${where}: ${fault.reason}. It was left as it is; fix or remove it.`,
      {
        details: {
          file,
          reason: 'syntax',
          ...(fault.line === undefined ? {} : { line: fault.line, column: fault.column }),
        },
      },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new AgentvisorError(
      'invalid-credentials-file',
      `Credentials file ${file} holds ${kind}, not a JSON object. It was left as it is; fix or remove it.`,
      {
        details: { file, reason: 'not-an-object' },
      },
    );
  }
  return value as JsonRecord;
}

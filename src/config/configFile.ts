import fs from 'node:fs';
import path from 'node:path';
import { describeJsonFault, faultPosition } from '../storage/jsonError';
import { AgentvisorError, errnoOf, givenKind } from '../errors';
import { loadModule } from '../observability/lazyModule';
import { locateUnderHomeSync, realLocationSync } from '../storage/homePath';
import type { HomeLocation } from '../storage/homePath';
import type * as ConfigValidationModule from './configValidation';
import type { ConfigFileSettings, ConfigProblem, LoadedConfig } from './configTypes';

/** A config file is a few hundred bytes; past this it is not one (and is not read on). */
export const MAX_CONFIG_BYTES = 256 * 1024;

/**
 * The config file every command reads: `<home>/agentvisor/config.json`.
 *
 * @example defaultConfigFile('/home/me/.codex') // '/home/me/.codex/agentvisor/config.json'
 */
export function defaultConfigFile(home: string): string {
  return path.join(home, 'agentvisor', 'config.json');
}

export interface ReadConfigFileOptions {
  /** The home folder: a path through a symlink must resolve inside it. */
  readonly home: string;
  /** A missing file is an error (`invalid-config`, reason `missing`) rather than `null`. @default false */
  readonly required?: boolean;
}

function invalid(
  file: string,
  reason: string,
  what: string,
  details: Readonly<Record<string, unknown>> = {},
): AgentvisorError {
  return new AgentvisorError('invalid-config', `Config file ${file} ${what}`, {
    details: { file, reason, ...details },
  });
}

function exists(given: string): boolean {
  try {
    return fs.lstatSync(given, { throwIfNoEntry: false }) !== undefined;
  } catch (error) {
    // ENOTDIR: a file stands where a folder of the path should be; there is no config there.
    if (errnoOf(error) === 'ENOTDIR') return false;
    throw invalid(
      given,
      errnoOf(error) ?? 'io',
      `cannot be read (${errnoOf(error) ?? 'an I/O error'}): check the folders' owner and permissions.`,
    );
  }
}

/** Where the file really is, refused when a symlink leads outside the home (as credential files are). */
function locate(given: string, home: string): string {
  let where: HomeLocation;
  try {
    where = locateUnderHomeSync(given, home);
  } catch (error) {
    throw invalid(given, errnoOf(error) ?? 'io', `cannot be read (${errnoOf(error) ?? 'an I/O error'}).`);
  }
  if (where.problem === 'dangling-symlink')
    throw invalid(given, 'dangling-symlink', 'is a symlink to a missing file: remove the link or create its target.');
  if (where.problem === 'symlink-outside-home') {
    const realHome = realLocationSync(home).real;
    throw new AgentvisorError(
      'insecure-permissions',
      `Config file ${given} is a symlink (or lies below one) that resolves outside ${realHome}; refusing to use it.`,
      {
        details: { file: given, reason: 'symlink-outside-home' },
      },
    );
  }
  return where.real;
}

/** The file's bytes as text, never through a symlink at the last step and never past MAX_CONFIG_BYTES; null when missing. */
function readBounded(given: string, real: string): string | null {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in the file's place must not hang the command.
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP')
      throw invalid(
        given,
        'symlink',
        'became a symlink while it was read; config files are never followed through a final symlink.',
      );
    throw invalid(given, code ?? 'io', `cannot be read (${code ?? 'an I/O error'}): check its owner and permissions.`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw invalid(given, 'not-a-file', 'is not a regular file.');
    const buffer = Buffer.alloc(Math.min(stat.size, MAX_CONFIG_BYTES) + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n)
      n = fs.readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_CONFIG_BYTES)
      throw invalid(
        given,
        'too-large',
        `is larger than ${MAX_CONFIG_BYTES / 1024} KB; a config file holds a few settings. It was left as it is.`,
      );
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function parse(given: string, text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '')
    throw invalid(
      given,
      'empty',
      'is empty; it must hold a JSON object such as { "limits": { "claude": { "maxConcurrent": 4 } } }. It was left as it is.',
    );
  try {
    return JSON.parse(body);
  } catch (error) {
    const fault = describeJsonFault(body, error);
    const where = faultPosition(fault);
    throw invalid(
      given,
      'syntax',
      `is not valid JSON${where}: ${fault.reason}. It was left as it is; fix it.`,
      fault.line === undefined ? {} : { line: fault.line, column: fault.column },
    );
  }
}

function describeProblems(problems: readonly ConfigProblem[]): string {
  const shown = problems.slice(0, 3).map((p) => `${p.field}: ${p.message}`);
  return `${shown.join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}.`;
}

/** A relative ledger file is taken from the config file's folder, not from wherever the command runs. */
function anchored(settings: ConfigFileSettings, dir: string): ConfigFileSettings {
  const ledger = settings.ledger;
  if (typeof ledger !== 'object' || !('file' in ledger) || path.isAbsolute(ledger.file)) return settings;
  return { ...settings, ledger: { ...ledger, file: path.resolve(dir, ledger.file) } };
}

/**
 * Reads and validates a config file. A missing file gives `null` (unless `required`). Anything
 * agentvisor cannot use throws `invalid-config` naming the file and, for a bad setting, the field
 * (`limits.claude.dailyLimit: expected a whole number from 0 to …`), with `details.fields`; a path
 * that leads outside the home through a symlink throws `insecure-permissions`. The file is only
 * read, never written. zod is loaded only when there is a file to check.
 *
 * @example
 * const config = readConfigFile(defaultConfigFile(home), { home }); // null when there is none
 * if (config) createOrchestrator({ ...config.settings, home });
 */
export function readConfigFile(file: string, options: ReadConfigFileOptions): LoadedConfig | null {
  if (typeof file !== 'string' || file === '')
    throw new AgentvisorError(
      'invalid-option',
      `readConfigFile's file must be a path, got ${file === '' ? 'an empty string' : givenKind(file)}`,
      {
        details: { option: 'file' },
      },
    );
  if (typeof options !== 'object' || options === null || typeof options.home !== 'string')
    throw new AgentvisorError(
      'invalid-option',
      `readConfigFile's options must be an object such as { home: '/srv/agents/.codex' }, got ${givenKind(options)}`,
      { details: { option: 'options' } },
    );
  const given = path.resolve(file);
  const missing = (): null => {
    if (options.required === true)
      throw invalid(given, 'missing', 'does not exist: create it or leave configFile out.');
    return null;
  };
  // A missing file is no config, before any symlink above it is looked at.
  if (!exists(given)) return missing();
  const text = readBounded(given, locate(given, options.home));
  if (text === null) return missing();
  const value = parse(given, text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(
      given,
      'not-an-object',
      `holds ${value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`}, not a JSON object of settings. It was left as it is.`,
    );
  }
  const checked = loadModule<typeof ConfigValidationModule>('../config/configValidation').validateConfig(value);
  if (!checked.ok) {
    const fields = checked.problems.map((p) => p.field);
    throw new AgentvisorError(
      'invalid-config',
      `Config file ${given}: ${describeProblems(checked.problems)} It was left as it is.`,
      {
        details: { file: given, reason: 'schema', field: fields[0], fields },
      },
    );
  }
  return { file: given, settings: anchored(checked.settings, path.dirname(given)) };
}

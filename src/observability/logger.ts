import tty from 'node:tty';
import type pino from 'pino';
import type { Logger } from 'pino';
import { AgentvisorError } from '../errors';
import { loadModule, loadOptionalModule } from './lazyModule';
import { SecretMasker } from './secretMasker';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** pino's level numbers, to drop a line below the level without pino. */
const LEVEL_NUMBERS: Readonly<Record<string, number>> = {
  fatal: 60,
  error: 50,
  warn: 40,
  info: 30,
  debug: 20,
  trace: 10,
  silent: Number.POSITIVE_INFINITY,
};
const LOG_METHODS: ReadonlySet<PropertyKey> = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);
const dropLine = (): void => undefined;

/**
 * Paths redacted in every log line. pino's `*` matches one level only, so nested places where a
 * credential could sit are listed; anything else is masked by value (SecretMasker) in the written line.
 */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'apiKeys',
  '*.apiKeys',
  'key',
  '*.key',
  'token',
  '*.token',
  '*.*.token',
  'accessToken',
  '*.accessToken',
  '*.*.accessToken',
  'refreshToken',
  '*.refreshToken',
  '*.*.refreshToken',
  'idToken',
  '*.idToken',
  '*.*.idToken',
  'access_token',
  '*.access_token',
  '*.*.access_token',
  'refresh_token',
  '*.refresh_token',
  '*.*.refresh_token',
  'id_token',
  '*.id_token',
  '*.*.id_token',
  'oauth_tokens',
  '*.oauth_tokens',
  'tokens',
  '*.tokens',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'clientSecret',
  '*.clientSecret',
  'client_secret',
  '*.client_secret',
  'env',
  '*.env',
  'secretEnv',
  '*.secretEnv',
  '*.*.secretEnv',
  'ANTHROPIC_API_KEY',
  '*.ANTHROPIC_API_KEY',
  'CLAUDE_API_KEY',
  '*.CLAUDE_API_KEY',
  'OPENAI_API_KEY',
  '*.OPENAI_API_KEY',
  'CLAUDE_CODE_OAUTH_TOKEN',
  '*.CLAUDE_CODE_OAUTH_TOKEN',
  'ANTHROPIC_AUTH_TOKEN',
  '*.ANTHROPIC_AUTH_TOKEN',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'cookie',
  '*.cookie',
  'headers.cookie',
];

/** Where the logger finds its masker: children inherit it through pino's prototype chain. */
const MASKER = Symbol.for('agentvisor.secretMasker');

export interface LoggerOptions {
  /** Masks registered secrets in every written line. @default a new SecretMasker */
  readonly masker?: SecretMasker;
  /**
   * Human-readable lines through pino-pretty: `'auto'` when the destination is a terminal and
   * pino-pretty is installed (it is an optional dependency), `false` JSON always.
   * @default 'auto'
   */
  readonly pretty?: 'auto' | boolean;
  /** Fields on every line. @default { name: 'agentvisor' } */
  readonly base?: Record<string, unknown>;
}

/** What pino writes to: anything with `write(line)`. */
interface LineSink {
  write(line: string): unknown;
  flush?(cb?: (error?: Error) => void): void;
  flushSync?(): void;
}

type PrettyFactory = (options: {
  colorize: boolean;
  destination: number | NodeJS.WritableStream;
  sync: boolean;
}) => LineSink;

/**
 * pino-pretty's stream when wanted and installed, else null (JSON lines). Pretty output is for
 * people: only on a terminal unless forced.
 *
 * @example prettySink(2, 'auto') // a pino-pretty stream on a TTY with pino-pretty installed, else null
 */
export function prettySink(
  destination: number | NodeJS.WritableStream,
  pretty: 'auto' | boolean,
  load: () => PrettyFactory | null = loadPretty,
): LineSink | null {
  if (pretty === false) return null;
  const isTTY =
    typeof destination === 'number' ? tty.isatty(destination) : (destination as { isTTY?: boolean }).isTTY === true;
  if (pretty === 'auto' && !isTTY) return null;
  const factory = load();
  return factory ? factory({ colorize: isTTY, destination, sync: true }) : null;
}

function loadPretty(): PrettyFactory | null {
  const mod = loadOptionalModule<PrettyFactory | { default: PrettyFactory }>('pino-pretty');
  if (mod === null) return null;
  return typeof mod === 'function' ? mod : mod.default;
}

/** Masks each line on its way to the sink: the last place a secret could slip into a log. */
function maskingSink(sink: LineSink, masker: SecretMasker): LineSink {
  return {
    write: (line: string) => sink.write(masker.mask(line)),
    flush: (cb?: (error?: Error) => void) => (sink.flush ? sink.flush(cb) : cb?.()),
    flushSync: () => sink.flushSync?.(),
  };
}

/** The pino logger behind createLogger's. */
function buildLogger(
  level: LogLevel,
  destination: NodeJS.WritableStream | number,
  options: LoggerOptions,
  masker: SecretMasker,
): Logger {
  const createPino = loadModule<typeof pino>('pino');
  const pretty = prettySink(destination, options.pretty ?? 'auto');
  const sink: LineSink =
    pretty ?? (typeof destination === 'number' ? createPino.destination({ fd: destination, sync: true }) : destination);
  const logger = createPino(
    { level, base: options.base ?? { name: 'agentvisor' }, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } },
    maskingSink(sink, masker) as pino.DestinationStream,
  );
  Object.defineProperty(logger, MASKER, { value: masker, enumerable: false });
  return logger;
}

/**
 * The CLI's logger: JSON lines on stderr (stdout stays for results), pretty on a terminal when
 * pino-pretty is installed; secrets redacted by path and masked by value (the masker the
 * orchestrator registers every credential in, see `secretMaskerOf`). pino is loaded and set up
 * (20-40 ms: its redaction compiles a function per path) on the first line at or above the level,
 * or any other use of the logger: a `run` at `warn` that logs nothing never pays for it.
 *
 * @example
 * const logger = createLogger('info');
 * logger.info({ agentId }, 'agent active');
 * createOrchestrator({ logger }); // registers every credential it hands out in the logger's masker
 */
export function createLogger(
  level: LogLevel = 'warn',
  destination: NodeJS.WritableStream | number = 2,
  options: LoggerOptions = {},
): Logger {
  const masker = options.masker ?? new SecretMasker();
  let built: Logger | null = null;
  const build = (): Logger => (built ??= buildLogger(level, destination, options, masker));
  if (!(LOG_LEVELS as readonly unknown[]).includes(level))
    throw new AgentvisorError(
      'invalid-option',
      `createLogger's level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level) ?? 'undefined'}`,
      { details: { option: 'level' } },
    );
  const threshold = LEVEL_NUMBERS[level] ?? 0;
  return new Proxy(Object.create(null) as Logger, {
    get(_target, prop) {
      if (prop === MASKER) return masker;
      if (built === null && LOG_METHODS.has(prop) && (LEVEL_NUMBERS[prop as string] ?? 0) < threshold) return dropLine;
      if (built === null && prop === 'level') return level;
      const logger = build();
      const value: unknown = Reflect.get(logger, prop, logger);
      return typeof value === 'function' ? value.bind(logger) : value;
    },
    set: (_target, prop, value) => Reflect.set(build(), prop, value),
    has: (_target, prop) => prop === MASKER || Reflect.has(build(), prop),
  });
}

/**
 * The masker of a logger made by createLogger (or a child of one), else null.
 *
 * @example secretMaskerOf(createLogger('info').child({ agentId }))?.add(token)
 */
export function secretMaskerOf(logger: Logger | null | undefined): SecretMasker | null {
  const masker = (logger as { [MASKER]?: unknown } | null | undefined)?.[MASKER];
  return masker instanceof SecretMasker ? masker : null;
}

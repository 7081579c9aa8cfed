import { Writable } from 'node:stream';
import { Secret, createManualClock, createOrchestrator } from '../../src';
import { SecretMasker, createLogger, prettySink, secretMaskerOf } from '../../src/observability';
import { T0 } from '../helpers/timeOrigin';

const OAUTH_TOKEN = 'opaque-oauth-token-LoggerTest-5566778899';
const KEY = 'sk-ant-api03-LoggerTestKeyBody-0123456789Abcd';

function capture(isTTY = false): { stream: Writable & { isTTY?: boolean }; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  }) as Writable & { isTTY?: boolean };
  if (isTTY) stream.isTTY = true;
  return { stream, lines };
}

const parsed = (lines: readonly string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('createLogger', () => {
  it.each(['loud', 'toString', 5, null])('should refuse the level %p with invalid-option', (level) => {
    expect(() => createLogger(level as never)).toThrow(
      expect.objectContaining({ code: 'invalid-option', message: expect.stringMatching(/level must be one of fatal/) }),
    );
  });

  it('should redact credentials at the listed paths, nested ones included', () => {
    const { stream, lines } = capture();
    const logger = createLogger('info', stream);
    logger.info(
      {
        apiKey: KEY,
        options: { apiKeys: { claude: KEY } },
        a: { b: { refreshToken: 'r' } },
        headers: { authorization: 'Bearer x', 'x-api-key': KEY },
        env: { PATH: '/bin' },
      },
      'redaction',
    );
    expect(parsed(lines)).toEqual([
      expect.objectContaining({
        apiKey: '[REDACTED]',
        options: { apiKeys: '[REDACTED]' },
        a: { b: { refreshToken: '[REDACTED]' } },
        headers: { authorization: '[REDACTED]', 'x-api-key': '[REDACTED]' },
        env: '[REDACTED]',
        msg: 'redaction',
      }),
    ]);
  });

  it('should mask a registered secret in the message, any field, an error and its stack, through child loggers', () => {
    const { stream, lines } = capture();
    const logger = createLogger('info', stream);
    const child = logger.child({ agentId: 'a1' });
    secretMaskerOf(child)!.add(OAUTH_TOKEN);
    child.warn({ stderr: `curl: (22) Authorization: Bearer ${OAUTH_TOKEN}` }, `agent said ${OAUTH_TOKEN}`);
    child.error({ err: new Error(`refresh of ${OAUTH_TOKEN} failed`) }, 'failed');
    const text = lines.join('');
    expect(text).not.toContain(OAUTH_TOKEN);
    const [first, second] = parsed(lines);
    expect(first).toMatchObject({
      agentId: 'a1',
      stderr: 'curl: (22) Authorization: Bearer [REDACTED]',
      msg: 'agent said [REDACTED]',
    });
    expect(second).toMatchObject({ err: { message: 'refresh of [REDACTED] failed' } });
    expect(String((second!.err as { stack: string }).stack)).toMatch(/^Error: refresh of \[REDACTED\] failed/);
  });

  it('should use the masker it is given, and show unregistered keys as hints', () => {
    const masker = new SecretMasker();
    const { stream, lines } = capture();
    const logger = createLogger('info', stream, { masker });
    expect(secretMaskerOf(logger)).toBe(masker);
    logger.info(`provider said: invalid x-api-key ${KEY}`);
    expect(parsed(lines)[0]!.msg).toBe('provider said: invalid x-api-key sk-ant-…Abcd');
  });

  it('should drop lines below the level', () => {
    const { stream, lines } = capture();
    const logger = createLogger('warn', stream);
    logger.info('not shown');
    logger.debug('not shown');
    logger.warn('shown');
    expect(parsed(lines).map((l) => l.msg)).toEqual(['shown']);
  });

  it('should write pretty text on a terminal (pino-pretty is an optional dependency, installed here), still masked', () => {
    const { stream, lines } = capture(true);
    const key = 'sk-ant-api03-PRETTYmaskedKEY-9999';
    createLogger('info', stream).info({ apiKey: key, note: `the key ${key}` }, 'on a terminal');
    const text = lines.join('');
    expect(text).toContain('on a terminal');
    expect(() => JSON.parse(lines[0] ?? '')).toThrow();
    expect(text).not.toContain(key);
  });

  it('should write JSON lines on a terminal with pretty: false', () => {
    const { stream, lines } = capture(true);
    createLogger('info', stream, { pretty: false }).info('on a terminal');
    expect(parsed(lines)[0]).toMatchObject({ level: 30, name: 'agentvisor', msg: 'on a terminal' });
  });

  it('should find no masker on a logger it did not make', () => {
    expect(secretMaskerOf(null)).toBeNull();
    expect(secretMaskerOf(undefined)).toBeNull();
  });
});

describe('prettySink', () => {
  const fakeSink = { write: () => true };

  it('should not load pino-pretty for a destination that is not a terminal', () => {
    const load = jest.fn(() => () => fakeSink);
    expect(prettySink(capture().stream, 'auto', load)).toBeNull();
    expect(load).not.toHaveBeenCalled();
  });

  it('should use pino-pretty on a terminal when it is installed, colorized', () => {
    const factory = jest.fn(() => fakeSink);
    const { stream } = capture(true);
    expect(prettySink(stream, 'auto', () => factory)).toBe(fakeSink);
    expect(factory).toHaveBeenCalledWith({ colorize: true, destination: stream, sync: true });
  });

  it('should fall back to JSON (null) on a terminal when pino-pretty is missing', () => {
    expect(prettySink(capture(true).stream, 'auto', () => null)).toBeNull();
    // The real loader finds the optional dependency when it is installed (it is, here).
    expect(prettySink(capture(true).stream, 'auto')).not.toBeNull();
  });

  it('should honour pretty: false on a terminal and pretty: true elsewhere (without colour)', () => {
    const factory = jest.fn(() => fakeSink);
    expect(prettySink(capture(true).stream, false, () => factory)).toBeNull();
    const { stream } = capture();
    expect(prettySink(stream, true, () => factory)).toBe(fakeSink);
    expect(factory).toHaveBeenCalledWith({ colorize: false, destination: stream, sync: true });
  });
});

describe('orchestrator with a createLogger logger', () => {
  it("should register every credential it hands out in the logger's masker, so agent output logged later is masked", async () => {
    const { stream, lines } = capture();
    const logger = createLogger('debug', stream);
    const orch = createOrchestrator({
      clock: createManualClock(T0),
      logger,
      fallbackChain: ['claude'],
      authenticate: () => ({
        source: 'test',
        hint: '…',
        secretEnv: { CLAUDE_CODE_OAUTH_TOKEN: new Secret(OAUTH_TOKEN) },
        env: {},
      }),
    });
    await orch.start();
    expect(secretMaskerOf(logger)!.has(OAUTH_TOKEN)).toBe(false);
    const agent = await orch.spawnAgent({ estimatedTokens: 100 });
    expect(agent.env.CLAUDE_CODE_OAUTH_TOKEN).toBe(OAUTH_TOKEN);
    expect(secretMaskerOf(logger)!.has(OAUTH_TOKEN)).toBe(true);
    logger.child({ agentId: agent.id }).warn({ stderr: `token=${OAUTH_TOKEN}` }, 'agent stderr');
    await agent.release();
    await orch.stop();
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.join('')).not.toContain(OAUTH_TOKEN);
    expect(parsed(lines).find((l) => l.msg === 'agent stderr')).toMatchObject({ stderr: 'token=[REDACTED]' });
  });

  it('should register the keys of apiKeys and of the env at creation', () => {
    const logger = createLogger('info', capture().stream);
    createOrchestrator({
      logger,
      apiKeys: { claude: KEY },
      env: { OPENAI_API_KEY: 'sk-proj-LoggerTestOpenAIKey-000111' },
    });
    expect(secretMaskerOf(logger)!.has(KEY)).toBe(true);
    expect(secretMaskerOf(logger)!.has('sk-proj-LoggerTestOpenAIKey-000111')).toBe(true);
  });
});

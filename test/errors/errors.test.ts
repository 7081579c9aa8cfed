import vm from 'node:vm';
import { AgentvisorError, ERROR_CODES, isAgentvisorError } from '../../src';

describe('AgentvisorError', () => {
  it('should carry a code, message, retryAfterMs, details and the name AgentvisorError', () => {
    const error = new AgentvisorError('concurrency-limit', 'all slots are taken', {
      retryAfterMs: 1_000,
      details: { agentId: 'a' },
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('AgentvisorError');
    expect(error.code).toBe('concurrency-limit');
    expect(error.message).toBe('all slots are taken');
    expect(error.retryAfterMs).toBe(1_000);
    expect(error.details).toEqual({ agentId: 'a' });
  });

  it('should default retryAfterMs to null and details to an empty object', () => {
    const error = new AgentvisorError('unknown-agent', 'no such agent');
    expect(error.retryAfterMs).toBeNull();
    expect(error.details).toEqual({});
    expect(error.cause).toBeUndefined();
  });

  it('should keep a cause', () => {
    const cause = new Error('ECONNREFUSED');
    expect(new AgentvisorError('auth-failed', 'login failed', { cause }).cause).toBe(cause);
  });

  it('should serialise to name, code, message, retryAfterMs and details only', () => {
    const error = new AgentvisorError('quota-exhausted', 'no budget', {
      retryAfterMs: 5,
      details: { provider: 'claude' },
      cause: new Error('inner'),
    });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'AgentvisorError',
      code: 'quota-exhausted',
      message: 'no budget',
      retryAfterMs: 5,
      details: { provider: 'claude' },
    });
  });

  it('should list unique kebab-case codes, including the documented ones', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) expect(code).toMatch(/^[a-z]+(-[a-z]+)*$/);
    expect(ERROR_CODES).toEqual(
      expect.arrayContaining([
        'invalid-option',
        'invalid-usage',
        'invalid-estimate',
        'unknown-agent',
        'duplicate-agent',
        'already-released',
        'agent-released',
        'quota-exhausted',
        'concurrency-limit',
        'queue-full',
        'no-provider',
        'auth-failed',
        'not-started',
        'stopped',
        'invalid-workspace',
      ]),
    );
  });
});

describe('isAgentvisorError', () => {
  it('should recognise an AgentvisorError with and without a code', () => {
    const error = new AgentvisorError('queue-full', 'full');
    expect(isAgentvisorError(error)).toBe(true);
    expect(isAgentvisorError(error, 'queue-full')).toBe(true);
    expect(isAgentvisorError(error, 'quota-exhausted')).toBe(false);
  });

  it.each([
    ['a plain Error', new Error('x')],
    ['an Error with a code property', Object.assign(new Error('x'), { code: 'queue-full' })],
    ['a look-alike object', { name: 'AgentvisorError', code: 'queue-full', message: 'x' }],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'queue-full'],
    ['a number', 42],
  ])('should reject %s', (_name, value) => {
    expect(isAgentvisorError(value)).toBe(false);
    expect(isAgentvisorError(value, 'queue-full')).toBe(false);
  });

  it('should recognise an agentvisor error made in another realm, where instanceof fails', () => {
    const foreign: unknown = vm.runInNewContext(`
      const e = new Error('from another realm');
      Object.defineProperty(e, Symbol.for('agentvisor.error'), { value: true });
      e.code = 'stopped';
      e;
    `);
    expect(foreign instanceof AgentvisorError).toBe(false);
    expect(isAgentvisorError(foreign)).toBe(true);
    expect(isAgentvisorError(foreign, 'stopped')).toBe(true);
    expect(isAgentvisorError(foreign, 'queue-full')).toBe(false);
  });
});

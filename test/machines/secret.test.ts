import { inspect } from 'node:util';
import { Secret } from '../../machines/secret';

describe('Secret', () => {
  it('should print [REDACTED] in a string, JSON and util.inspect, and give the value only to reveal()', () => {
    const key = new Secret('sk-test-value');
    expect(`${key}`).toBe('[REDACTED]');
    expect(JSON.stringify({ key })).toBe('{"key":"[REDACTED]"}');
    expect(inspect({ key })).toBe('{ key: Secret([REDACTED]) }');
    expect(key.reveal()).toBe('sk-test-value');
  });
});

/**
 * newId: nanoid's alphabet and random pool, written into a buffer and read out as one flat string.
 */
import { urlAlphabet } from 'nanoid';
import { newId } from '../../src/orchestrator/ids';

describe('newId', () => {
  it('should give 21 characters of the URL-safe alphabet', () => {
    for (let i = 0; i < 1_000; i++) expect(newId()).toMatch(/^[A-Za-z0-9_-]{21}$/);
  });

  it('should give a new id each call, though every call writes into the same buffer', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('should use every character of the alphabet, in every position', () => {
    const ids = Array.from({ length: 5_000 }, () => newId());
    for (const position of [0, 10, 20]) {
      const seen = new Set(ids.map((id) => id[position]));
      expect([...seen].sort()).toEqual([...urlAlphabet].sort());
    }
  });
});

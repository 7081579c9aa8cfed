import { random, urlAlphabet } from 'nanoid';

const ID_SIZE = 21;
const ALPHABET = Buffer.from(urlAlphabet, 'latin1');
/** Reused by every call: the id is copied out of it as a new string. */
const chars = Buffer.alloc(ID_SIZE);

/**
 * A new random id (nanoid's alphabet and random pool: 21 URL-safe characters, 126 bits), stored flat.
 *
 * Why not `nanoid()`: it builds its id one character at a time, which V8 keeps as a tree of 20 cons
 * strings (about 860 B per live session across the agent and session ids, measured with a heap
 * snapshot diff; docs/benchmarks.md). Writing the characters into a buffer and reading it once
 * makes one flat 21-byte string, without the intermediate strings.
 *
 * @example newId() // 'V1StGXR8_Z5jdHi6B-myT'
 */
export function newId(): string {
  const bytes = random(ID_SIZE);
  for (let i = 0; i < ID_SIZE; i++) chars[i] = ALPHABET[bytes[i]! & 63]!;
  return chars.toString('latin1');
}

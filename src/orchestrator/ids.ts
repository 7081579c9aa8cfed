import { nanoid } from 'nanoid';

/**
 * A new random id (nanoid: 21 URL-safe characters, 126 bits), stored flat.
 *
 * Why the copy: nanoid builds its id one character at a time, which V8 keeps as a tree of 20 cons
 * strings (about 860 B per live session across the agent and session ids, measured with a heap
 * snapshot diff; docs/benchmarks.md). Copying through a latin1 Buffer leaves one flat 21-byte string.
 */
export function newId(): string {
  return Buffer.from(nanoid(), 'latin1').toString('latin1');
}

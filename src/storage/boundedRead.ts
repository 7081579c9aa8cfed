import { isUtf8 } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';

/** Keys read from stdin (`login … --api-key -`): real keys are a few hundred bytes. */
export const MAX_STDIN_KEY_BYTES = 64 * 1024;
/** HTTP answers read whole (`test`, `verifyKey`, token endpoints): real ones are a few kilobytes. */
export const MAX_HTTP_BODY_BYTES = 1024 * 1024;

/** What a bounded read got. */
export interface BoundedText {
  /** The text of the bytes read: all of them, or the first `maxBytes` when `overLimit`. */
  readonly text: string;
  /** Whether the source held more than `maxBytes`; it was then cancelled, not read on. */
  readonly overLimit: boolean;
}

function decode(chunks: readonly Buffer[], total: number, maxBytes: number): string {
  return Buffer.concat(chunks, total).subarray(0, maxBytes).toString('utf8');
}

/**
 * Reads a stream (stdin, a socket) up to `maxBytes` and stops there: the stream is destroyed (its
 * writer gets EPIPE) rather than read on, so memory never grows past about `maxBytes` plus one chunk.
 *
 * @example const { text, overLimit } = await readBoundedStream(process.stdin, MAX_STDIN_KEY_BYTES);
 */
export async function readBoundedStream(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  maxBytes: number,
): Promise<BoundedText> {
  const chunks: Buffer[] = [];
  let total = 0;
  // Leaving a for-await early calls the iterator's return(), which destroys a Node stream.
  for await (const chunk of source) {
    const buffer =
      typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    chunks.push(buffer);
    total += buffer.length;
    if (total > maxBytes) return { text: decode(chunks, total, maxBytes), overLimit: true };
  }
  return { text: decode(chunks, total, maxBytes), overLimit: false };
}

/**
 * Reads a fetch `Response` body up to `maxBytes`; past that the body is cancelled (the connection
 * is dropped), so an endless or huge answer costs at most `maxBytes` of memory.
 *
 * @example const { text, overLimit } = await readBoundedBody(response, MAX_HTTP_BODY_BYTES);
 */
export async function readBoundedBody(response: Pick<Response, 'body'>, maxBytes: number): Promise<BoundedText> {
  if (response.body === null) return { text: '', overLimit: false };
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: decode(chunks, total, maxBytes), overLimit: false };
      const buffer = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      chunks.push(buffer);
      total += buffer.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { text: decode(chunks, total, maxBytes), overLimit: true };
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Reads an open file from its start up to `maxBytes`; a file that grew past that (whatever its
 * stat said) is reported `overLimit` after reading at most `maxBytes + 1` bytes. `validUtf8`
 * says whether the bytes were UTF-8 (otherwise the text has U+FFFD in place of the invalid ones).
 *
 * @example const { text, overLimit } = await readBoundedFile(handle, MAX_CREDENTIALS_FILE_BYTES);
 */
export async function readBoundedFile(
  handle: Pick<FileHandle, 'read'>,
  maxBytes: number,
): Promise<BoundedText & { readonly validUtf8: boolean }> {
  // Not zero-filled (a credentials read at every start): only the bytes read are ever decoded or checked.
  const buffer = Buffer.allocUnsafe(maxBytes + 1);
  let total = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, total, buffer.length - total, total);
    if (bytesRead === 0) break;
    total += bytesRead;
    if (total > maxBytes) return { text: decode([buffer], total, maxBytes), overLimit: true, validUtf8: false };
  }
  // Decoding replaces invalid bytes with U+FFFD: a caller that writes the text back must know.
  const validUtf8 = isUtf8(buffer.subarray(0, total));
  return { text: decode([buffer], total, maxBytes), overLimit: false, validUtf8 };
}

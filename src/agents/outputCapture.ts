/**
 * Keeps at most `limitBytes` of a stream: the first half and the last half, so both the start of
 * an agent's output (Codex's `thread.started`) and its end (Claude Code's final JSON, Codex's
 * `turn.completed`) survive a flood in between. Memory stays bounded by about `limitBytes` plus one chunk.
 */
export class OutputCapture {
  readonly #headLimit: number;
  readonly #tailLimit: number;
  readonly #head: Buffer[] = [];
  #headBytes = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #totalBytes = 0;

  constructor(limitBytes: number) {
    this.#headLimit = Math.ceil(limitBytes / 2);
    this.#tailLimit = limitBytes - this.#headLimit;
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Bytes dropped between the head and the tail. */
  get omittedBytes(): number {
    return Math.max(0, this.#totalBytes - this.#headLimit - this.#tailLimit);
  }

  push(chunk: Buffer): void {
    this.#totalBytes += chunk.length;
    let rest = chunk;
    if (this.#headBytes < this.#headLimit) {
      const take = Math.min(rest.length, this.#headLimit - this.#headBytes);
      this.#head.push(rest.subarray(0, take));
      this.#headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0 || this.#tailLimit === 0) return;
    this.#tail.push(rest);
    this.#tailBytes += rest.length;
    // Drop whole chunks from the front while the rest still covers the tail; the last partial
    // chunk is trimmed once, in text().
    while (this.#tail.length > 1 && this.#tailBytes - (this.#tail[0]?.length ?? 0) >= this.#tailLimit) {
      this.#tailBytes -= this.#tail.shift()?.length ?? 0;
    }
  }

  /**
   * The kept text. When bytes were dropped, a line `[agentvisor: N bytes omitted]` stands between
   * head and tail, on its own line so line-oriented readers (JSON lines) skip it. A multi-byte
   * character cut at either edge decodes as U+FFFD.
   */
  text(): string {
    const head = Buffer.concat(this.#head).toString('utf8');
    const tailBuffer = Buffer.concat(this.#tail);
    const tail = tailBuffer.subarray(Math.max(0, tailBuffer.length - this.#tailLimit)).toString('utf8');
    const omitted = this.omittedBytes;
    if (omitted === 0) return head + tail;
    return `${head}\n[agentvisor: ${omitted} bytes omitted]\n${tail}`;
  }
}

import { PROVIDER_IDS } from '../providers';
import type { ProviderId } from '../providers';
import { redactSecrets } from './context';

/**
 * The batch's one-line progress bar, redrawn in place on a terminal:
 * `[######------] 5/12  ok 4  failed 1  running: claude 3/5, openai 0/4 (paused 21:20:05)` where
 * `3/5` is the agents running against the provider's effective (adaptive) limit. Notes printed
 * while it shows go above it.
 *
 * @example const bar = new BatchProgressBar(tasks.length, { claude: 5, openai: 4 }); bar.draw();
 */
export class BatchProgressBar {
  #done = 0;
  #ok = 0;
  readonly #running: Record<ProviderId, number> = { claude: 0, openai: 0 };
  readonly #limits: Record<ProviderId, number>;
  readonly #paused: Record<ProviderId, string | null> = { claude: null, openai: null };

  constructor(
    private readonly total: number,
    limits: Readonly<Record<ProviderId, number>>,
  ) {
    this.#limits = { ...limits };
  }

  runStarted(provider: ProviderId): void {
    this.#running[provider] += 1;
    this.draw();
  }

  runEnded(provider: ProviderId): void {
    this.#running[provider] -= 1;
    this.draw();
  }

  taskEnded(ok: boolean): void {
    this.#done += 1;
    if (ok) this.#ok += 1;
    this.draw();
  }

  /** The provider's effective limit moved (adaptive concurrency). */
  setLimit(provider: ProviderId, limit: number): void {
    this.#limits[provider] = limit;
    this.draw();
  }

  /** A usage limit paused the provider until the given time (null: resumed). */
  setPaused(provider: ProviderId, until: string | null): void {
    this.#paused[provider] = until;
    this.draw();
  }

  /** Prints a note on stderr above the bar, then redraws it. */
  note(line: string): void {
    process.stdout.write('\r\x1b[K');
    process.stderr.write(`${redactSecrets(line)}\n`);
    this.draw();
  }

  draw(): void {
    const width = 24;
    const filled = Math.round((this.#done / this.total) * width);
    const running = PROVIDER_IDS.map((p) => `${p} ${this.#running[p]}/${this.#limits[p]}${this.#paused[p] === null ? '' : ` (paused ${this.#paused[p]})`}`).join(', ');
    process.stdout.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.#done}/${this.total}  ` + `ok ${this.#ok}  failed ${this.#done - this.#ok}  running: ${running}\x1b[K`);
  }

  finish(): void {
    process.stdout.write('\n');
  }
}

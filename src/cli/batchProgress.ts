import { PROVIDER_IDS } from '../providers';
import type { ProviderId } from '../providers';
import { redactSecrets } from './context';
import { formatResetTime } from './providerEventLines';

/** The per-provider figures the bar shows, a slice of `orch.stats().providers`. */
export type ProgressProviders = Readonly<
  Record<ProviderId, { readonly effectiveLimit: number; readonly pausedUntil: number | null }>
>;

/**
 * The batch's one-line progress bar, redrawn in place on a terminal:
 * `[######------] 5/12  ok 4  failed 1  running: claude 3/5, openai 0/4 (paused 21:20:05)` where
 * `3/5` is the agents running against the provider's effective (adaptive) limit. The limits and
 * pauses follow the orchestrator's read model (`showProviders`, fed by `orch.subscribeStats`); the
 * runs and tasks are the batch's own. Notes printed while it shows go above it.
 *
 * @example
 * const bar = new BatchProgressBar(tasks.length, orch.stats().providers);
 * const unsubscribe = orch.subscribeStats((stats) => bar.showProviders(stats.providers));
 */
export class BatchProgressBar {
  #done = 0;
  #ok = 0;
  readonly #running: Record<ProviderId, number> = { claude: 0, openai: 0 };
  #providers: ProgressProviders;

  constructor(
    private readonly total: number,
    providers: ProgressProviders,
  ) {
    this.#providers = providers;
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

  /** The read model moved: redraws with the providers' effective limits and pauses. */
  showProviders(providers: ProgressProviders): void {
    this.#providers = providers;
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
    const running = PROVIDER_IDS.map((p) => {
      const { effectiveLimit, pausedUntil } = this.#providers[p];
      return `${p} ${this.#running[p]}/${effectiveLimit}${pausedUntil === null ? '' : ` (paused ${formatResetTime(pausedUntil)})`}`;
    }).join(', ');
    process.stdout.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.#done}/${this.total}  ` +
        `ok ${this.#ok}  failed ${this.#done - this.#ok}  running: ${running}\x1b[K`,
    );
  }

  finish(): void {
    process.stdout.write('\n');
  }
}

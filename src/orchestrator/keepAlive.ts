/**
 * The orchestrator's timers are unref'd so a host that forgets `stop()` can still exit. A promise
 * the host awaits on a wait (a spawn in the queue, a requeued session) must keep the process alive
 * though, or Node exits with the promise pending. This holds one ref'd timer while any such wait
 * is open.
 */
export class KeepAlive {
  #open = 0;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly enabled: boolean) {}

  /** Keeps the process alive until `promise` settles; returns it unchanged. */
  hold<T>(promise: Promise<T>): Promise<T> {
    if (!this.enabled) return promise;
    this.#open += 1;
    // The interval only keeps the event loop busy; it does nothing when it fires.
    this.#timer ??= setInterval(() => undefined, 1 << 30);
    const done = () => {
      this.#open -= 1;
      if (this.#open === 0 && this.#timer !== null) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
    promise.then(done, done);
    return promise;
  }
}

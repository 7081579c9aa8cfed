/**
 * Waits `ms`, or less when `signal` aborts first. Resolves `true` when the full wait passed,
 * `false` when it was cut short by the abort. Never rejects.
 *
 * @example if (!(await abortableDelay(outcome.delayMs, signal))) return stopped();
 */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

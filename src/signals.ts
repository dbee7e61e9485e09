/**
 * How long (ms) after the first SIGINT or SIGTERM another one counts as the same Ctrl-C. A
 * wrapper such as `npm run` or `tsx` forwards the terminal's signal to a child that already got
 * it from the process group, a few milliseconds later; a second Ctrl-C typed on purpose comes
 * later than this.
 */
export const sameSignalWindow = 1_000;

/**
 * Wires SIGINT and SIGTERM to a graceful stop (the `stopOnSignals` option). A signal within
 * {@link sameSignalWindow} ms of the first is the same one, relayed; a later one terminates at
 * once and is raised again, so that the process ends as it would have.
 *
 * @returns a function that unwires the handlers; call it once stopped.
 */
export function stopOnSignals(stop: (signal: NodeJS.Signals) => void, terminate: () => Promise<void>): () => void {
  /** When the first signal came (performance.now()), once it has. */
  let first: number | undefined;
  const handler = (signal: NodeJS.Signals): void => {
    const now = performance.now();
    if (first === undefined) {
      first = now;
      stop(signal);
      return;
    }
    if (now - first < sameSignalWindow) return; // the same Ctrl-C, forwarded by a wrapper
    unwire();
    void terminate().finally(() => process.kill(process.pid, signal));
  };
  const unwire = (): void => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return unwire;
}

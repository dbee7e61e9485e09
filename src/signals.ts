/**
 * Wires SIGINT and SIGTERM to a graceful stop (the `stopOnSignals` option). A second signal
 * terminates at once and is raised again, so that the process ends as it would have.
 *
 * @returns a function that unwires the handlers; call it once stopped.
 */
export function stopOnSignals(stop: (signal: NodeJS.Signals) => void, terminate: () => Promise<void>): () => void {
  let received = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (!received) {
      received = true;
      stop(signal);
      return;
    }
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

import { defineWorker, type WorkerContext } from 'looppool/worker';

/** A task of the port-contract suite (test/portContract.test.ts). */
export type ContractTask =
  /** Yields each value, then completes. */
  | { readonly kind: 'values'; readonly values: readonly number[] }
  /** Yields 0, then waits `ms` without blocking its loop. */
  | { readonly kind: 'wait'; readonly ms: number }
  /** Holds its loop for `ms` at once, then returns 0: it answers no probe meanwhile. */
  | { readonly kind: 'block'; readonly ms: number }
  /** Returns a value that cannot be cloned (a function). */
  | { readonly kind: 'unsendable' };

/** Resolves after `ms`, or at once when `signal` is aborted (no timer is left behind). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

type Data = { failInit?: boolean } | undefined;

/** The worker of the port-contract suite; with `workerData.failInit`, `init` throws (synchronously). */
export default defineWorker({
  init(ctx: WorkerContext<Data>) {
    if (ctx.workerData?.failInit) throw new Error('init failed on purpose');
  },
  process(task: ContractTask, ctx: WorkerContext<Data>) {
    switch (task.kind) {
      case 'values':
        return (async function* () {
          yield* task.values;
        })();
      case 'wait':
        return (async function* () {
          yield 0;
          await sleep(task.ms, ctx.signal);
        })();
      case 'block': {
        // Holds the loop from the moment the task is read: what was sent after it is not read meanwhile.
        const until = Date.now() + task.ms;
        while (Date.now() < until) {
          // busy
        }
        return 0;
      }
      case 'unsendable':
        return (() => 1) as unknown as number;
    }
  },
});

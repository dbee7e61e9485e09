import { defineWorker } from 'looppool/worker';

/**
 * Waits for its signal. Shared memory `[started, aborted]` counts tasks that began and tasks
 * whose `ctx.signal` was aborted. A task of -1 completes at once.
 */
export default defineWorker({
  process: (task: number, ctx: { signal: AbortSignal; workerData: Int32Array }) =>
    task < 0
      ? task
      : new Promise<number>(() => {
          Atomics.add(ctx.workerData, 0, 1);
          ctx.signal.addEventListener('abort', () => {
            Atomics.add(ctx.workerData, 1, 1);
            Atomics.notify(ctx.workerData, 1);
          });
        }),
});

import { defineWorker } from 'looppool/worker';
import { add, type Tally } from '../support/tally';

/**
 * Waits for its signal. Its tally (see test/support/tally.ts) `[started, aborted]` counts
 * tasks that began and tasks whose `ctx.signal` was aborted. A task of -1 completes at once.
 */
export default defineWorker({
  process: (task: number, ctx: { signal: AbortSignal; workerData: Tally }) =>
    task < 0
      ? task
      : new Promise<number>(() => {
          add(ctx.workerData, 0);
          ctx.signal.addEventListener('abort', () => add(ctx.workerData, 1));
        }),
});

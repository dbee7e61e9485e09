import { defineWorker } from 'looppool/worker';

/**
 * Counts tasks running at once in shared memory: `[running now, most seen]`, one pair per
 * worker. Each task waits `ms`, so tasks overlap when the pool lets them.
 */
export default defineWorker({
  process: async (ms: number, ctx: { index: number; workerData: Int32Array }) => {
    const counters = ctx.workerData;
    const now = Atomics.add(counters, ctx.index * 2, 1) + 1;
    let most = Atomics.load(counters, ctx.index * 2 + 1);
    while (now > most) {
      Atomics.compareExchange(counters, ctx.index * 2 + 1, most, now);
      most = Atomics.load(counters, ctx.index * 2 + 1);
    }
    await new Promise((resolve) => setTimeout(resolve, ms));
    Atomics.sub(counters, ctx.index * 2, 1);
    return ms;
  },
});

import { defineWorker } from 'looppool/worker';

/** Waits `ms` milliseconds, then returns `ms`. */
export default defineWorker(async (ms: number): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
});

import { defineWorker } from 'looppool/worker';

/** Returns `id` after `ms` milliseconds. */
export default defineWorker(async ({ id, ms }: { id: number; ms: number }): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return id;
});

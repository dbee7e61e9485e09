import { defineWorker } from 'looppool/worker';

/** A row of the top capture: `ms` of computing, then `ms` of waiting; one row in fifty is bad. */
export default defineWorker(async (row: { id: number; ms: number }): Promise<number> => {
  const until = Date.now() + row.ms;
  while (Date.now() < until);
  await new Promise((resolve) => setTimeout(resolve, row.ms));
  if (row.id % 50 === 49) throw new Error(`row ${row.id}: price is not a number`);
  return row.id;
});

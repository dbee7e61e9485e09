/**
 * The ceiling of the demo's speed-up: the same transform over the same records on bare
 * `worker_threads` threads, no pool at all. One thread does both halves of the records in
 * turn, then two threads do one half each at the same time; the ratio of the wall times is the
 * speed-up two threads allow on this machine now. `npm run demo` measures it in the same run
 * as its own speed-up (a ratio of the two), and `npm run bench:cores` in rounds of its own.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { parentPort, Worker } from 'node:worker_threads';
import { loadCities, openAtlas, transform, type AtlasData, type City } from './atlas';

/** What a bare thread is given: the table, and the records it transforms, in order, as ranges. */
export interface CeilingJob {
  readonly atlas: AtlasData;
  readonly ranges: ReadonlyArray<readonly [number, number]>;
  readonly batch: number;
}

/** In a bare thread: transforms its ranges, batch by batch as the demo's workers do, and posts the ms it took. */
export async function runThread({ atlas: data, ranges, batch }: CeilingJob): Promise<void> {
  const atlas = await openAtlas(data);
  const cities = loadCities();
  parentPort!.once('message', () => {
    const started = performance.now();
    for (const [from, to] of ranges) {
      for (let at = from; at < to; at += batch) transform(cities.slice(at, Math.min(to, at + batch)) as City[], atlas);
    }
    parentPort!.postMessage(performance.now() - started);
  });
  parentPort!.postMessage('ready');
}

/** Starts one bare thread per entry of `rangesPerThread`, waits until all are ready, starts them together; each one's ms and the wall time. */
export async function timeThreads(
  atlas: AtlasData,
  rangesPerThread: ReadonlyArray<CeilingJob['ranges']>,
  batch: number,
): Promise<{ readonly threads: number[]; readonly wall: number }> {
  // This file is TypeScript: each thread registers tsx's loader, then loads it.
  const entry = `require('tsx/cjs'); require(${JSON.stringify(__filename)}).runThread(require('node:worker_threads').workerData);`;
  const workers = rangesPerThread.map((ranges) => new Worker(entry, { eval: true, workerData: { atlas, ranges, batch } satisfies CeilingJob }));
  await Promise.all(workers.map((worker) => once(worker, 'message')));
  const started = performance.now();
  const done = workers.map(async (worker) => (await once(worker, 'message'))[0] as number);
  for (const worker of workers) worker.postMessage('go');
  const threads = await Promise.all(done);
  const wall = performance.now() - started;
  await Promise.all(workers.map((worker) => worker.terminate()));
  return { threads, wall };
}

/** One round: `records` on one bare thread, then split over two at once. */
export async function ceilingRound(
  atlas: AtlasData,
  records: number,
  batch: number,
): Promise<{ readonly one: { readonly threads: number[]; readonly wall: number }; readonly two: { readonly threads: number[]; readonly wall: number } }> {
  const half = Math.ceil(records / 2 / batch) * batch;
  const first = [0, Math.min(half, records)] as const;
  const second = [Math.min(half, records), records] as const;
  const one = await timeThreads(atlas, [[first, second]], batch);
  const two = await timeThreads(atlas, [[first], [second]], batch);
  return { one, two };
}

/**
 * The ceiling of the demo's speed-up: the same transform over the same records on bare
 * `worker_threads` threads, no pool at all. One thread does both halves of the records in
 * turn, then two threads do one half each at the same time; the ratio of the wall times is the
 * speed-up two threads allow on this machine now. `npm run demo` measures it in the same run
 * as its own speed-up (a ratio of the two), and `npm run bench:cores` in rounds of its own.
 *
 * Bare threads read the records themselves and write nothing. {@link handMadeRun} is the
 * demo's whole ETL on two threads written by hand, still without a pool: the main thread
 * sends each batch of records (cloned), a thread sends its bytes back (moved), and the main
 * thread writes them in input order. What separates the two is the cost of moving records
 * and writing the file; what separates the hand-made run from the demo is the pool's own.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
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

/** In a hand-made thread: transforms each batch `[at, records]` the main thread posts, and posts `[at, bytes]` back, the bytes moved. */
export async function runHandMadeThread(data: AtlasData): Promise<void> {
  const atlas = await openAtlas(data);
  parentPort!.on('message', ([at, batch]: [number, City[]]) => {
    const bytes = transform(batch, atlas);
    parentPort!.postMessage([at, bytes], [bytes.buffer as ArrayBuffer]);
  });
  parentPort!.postMessage('ready');
}

/** Starts a thread of this file that runs `entry` (a function exported here) with `workerData`; this file is TypeScript, so the thread registers tsx's loader first. */
const thread = (entry: 'runThread' | 'runHandMadeThread', workerData: unknown): Worker =>
  new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)}).${entry}(require('node:worker_threads').workerData);`, { eval: true, workerData });

/**
 * The demo's ETL on two threads written by hand, no pool: `records` in batches of `batch`,
 * two batches at each thread at a time (one running, one waiting, as the pool hands them),
 * the bytes written to `file` in input order, no new batch sent while the file stream is full.
 * The threads are started, and the table sent, before the clock starts. Returns the wall ms.
 */
export async function handMadeRun(atlas: AtlasData, records: readonly City[], batch: number, file: string): Promise<number> {
  const workers = [thread('runHandMadeThread', atlas), thread('runHandMadeThread', atlas)];
  try {
    await Promise.all(workers.map((worker) => once(worker, 'message')));
    const out = createWriteStream(file);
    const batches = Math.ceil(records.length / batch);
    const arrived = new Map<number, Uint8Array>();
    /** Batches sent, and written. */
    let sent = 0;
    let written = 0;
    /** Threads that have room for a batch while the file stream is full. */
    const waiting: Worker[] = [];
    const send = (worker: Worker): void => {
      if (sent === batches) return;
      if (out.writableNeedDrain) {
        waiting.push(worker);
        return;
      }
      const at = sent++;
      worker.postMessage([at, records.slice(at * batch, (at + 1) * batch)]);
    };
    out.on('drain', () => {
      for (const worker of waiting.splice(0)) send(worker);
    });
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      for (const worker of workers) {
        worker.on('error', reject);
        worker.on('message', ([at, bytes]: [number, Uint8Array]) => {
          arrived.set(at, bytes);
          for (let next = arrived.get(written); next; next = arrived.get(written)) {
            arrived.delete(written++);
            out.write(next);
          }
          if (written === batches) resolve();
          else send(worker);
        });
        send(worker);
        send(worker);
      }
    });
    // Timed as the demo's run is: until the last bytes are handed to the stream, not flushed.
    const ms = performance.now() - started;
    out.end();
    await finished(out);
    return ms;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** Starts one bare thread per entry of `rangesPerThread`, waits until all are ready, starts them together; each one's ms and the wall time. */
export async function timeThreads(
  atlas: AtlasData,
  rangesPerThread: ReadonlyArray<CeilingJob['ranges']>,
  batch: number,
): Promise<{ readonly threads: number[]; readonly wall: number }> {
  const workers = rangesPerThread.map((ranges) => thread('runThread', { atlas, ranges, batch } satisfies CeilingJob));
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

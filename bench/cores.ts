/**
 * `npm run bench:cores`: what two threads allow for the demo's transform, with no pool at all.
 *
 * The demo (`npm run demo`) compares the pool's 2 workers against the main thread. This takes
 * looppool out: the same transform (`examples/demo/atlas.ts`) over the same cities, first on
 * one bare `worker_threads` thread that does both halves of the records in turn, then on two
 * threads that do one half each at the same time. Each thread times its own loop, so the
 * figures are the transform's cost per record alone and beside another thread; the ratio of
 * the wall times is the speed-up 2 threads give on this machine, a ceiling for the demo's.
 * Rounds alternate the two ways; `BENCH_ROUNDS` sets them (default 5), `--records N` the records.
 */
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { buildAtlas, loadCities, openAtlas, transform, type AtlasData, type City } from '../examples/demo/atlas';

/** What a thread is given: the table, and the records it transforms, in order, as ranges. */
interface Job {
  readonly atlas: AtlasData;
  readonly ranges: ReadonlyArray<readonly [number, number]>;
}

const batch = 256;

/** In a thread: transforms its ranges, batch by batch as the demo's workers do, and posts the ms it took. */
async function runThread({ atlas: data, ranges }: Job): Promise<void> {
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

/** Starts one thread per entry of `rangesPerThread`, waits until all are ready, starts them together, and returns each one's ms and the wall time. */
async function timeThreads(atlas: AtlasData, rangesPerThread: ReadonlyArray<Job['ranges']>): Promise<{ readonly threads: number[]; readonly wall: number }> {
  // This file is TypeScript: each thread registers tsx's loader, then loads it.
  const entry = `require('tsx/cjs'); require(${JSON.stringify(__filename)});`;
  const workers = rangesPerThread.map((ranges) => new Worker(entry, { eval: true, workerData: { atlas, ranges } satisfies Job }));
  await Promise.all(workers.map((worker) => once(worker, 'message')));
  const started = performance.now();
  const done = workers.map(async (worker) => (await once(worker, 'message'))[0] as number);
  for (const worker of workers) worker.postMessage('go');
  const threads = await Promise.all(done);
  const wall = performance.now() - started;
  await Promise.all(workers.map((worker) => worker.terminate()));
  return { threads, wall };
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { records: { type: 'string' } } });
  const cities = loadCities();
  const records = Math.min(cities.length, Number(values.records ?? cities.length));
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const atlas = await buildAtlas(cities);
  const half = Math.ceil(records / 2 / batch) * batch;
  const first = [0, half] as const;
  const second = [half, records] as const;
  console.log(
    `Node ${process.versions.node}, ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(2)}; ${records.toLocaleString('en')} records, ` +
      `${batch} a batch, ${rounds} rounds (one thread, then two, in turn).\n`,
  );
  const one: number[] = [];
  const two: number[] = [];
  const alone: number[] = [];
  const beside: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const single = await timeThreads(atlas.data, [[first, second]]);
    const pair = await timeThreads(atlas.data, [[first], [second]]);
    one.push(single.wall);
    two.push(pair.wall);
    alone.push((single.threads[0]! / records) * 1000);
    beside.push((pair.threads.reduce((a, b) => a + b, 0) / records) * 1000);
    console.log(
      `round ${round + 1}: one thread ${(single.wall / 1000).toFixed(2)} s, two threads ${(pair.wall / 1000).toFixed(2)} s: ` +
        `${(single.wall / pair.wall).toFixed(2)}×`,
    );
  }
  const speedUps = one.map((ms, i) => ms / two[i]!);
  console.log('');
  console.log('| | one thread | two threads at once |');
  console.log('| --- | ---: | ---: |');
  console.log(`| wall time (median) | ${(median(one) / 1000).toFixed(2)} s | ${(median(two) / 1000).toFixed(2)} s |`);
  console.log(`| thread time per record (median) | ${median(alone).toFixed(1)} µs | ${median(beside).toFixed(1)} µs |`);
  console.log('');
  console.log(
    `Speed-up of two bare threads: median ${median(speedUps).toFixed(2)}×, worst ${Math.min(...speedUps).toFixed(2)}×, best ${Math.max(...speedUps).toFixed(2)}×; ` +
      `a record costs ${((median(beside) / median(alone) - 1) * 100).toFixed(0)}% more thread time beside another thread.`,
  );
}

if (isMainThread) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  void runThread(workerData as Job);
}

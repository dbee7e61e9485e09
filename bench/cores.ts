/**
 * `npm run bench:cores`: what two threads allow for the demo's transform, with no pool at all.
 *
 * The demo (`npm run demo`) compares the pool's 2 workers against the main thread. This takes
 * looppool out: the same transform (`examples/demo/atlas.ts`) over the same cities, first on
 * one bare `worker_threads` thread that does both halves of the records in turn, then on two
 * threads that do one half each at the same time. Each thread times its own loop, so the
 * figures are the transform's cost per record alone and beside another thread; the ratio of
 * the wall times is the speed-up 2 threads give on this machine, a ceiling for the demo's.
 * The threads are those of `examples/demo/ceiling.ts`, which the demo also runs to print the
 * ratio of its speed-up to this one. Rounds alternate the two ways; `BENCH_ROUNDS` sets them (default 5), `--records N` the records.
 * Each round then runs the demo's whole ETL on two threads written by hand (`handMadeRun`: the
 * main thread sends the records and writes the bytes to a file, no pool): how much of the
 * bare threads' speed-up is left once records move and the file is written.
 */
import { rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildAtlas, loadCities } from '../examples/demo/atlas';
import { ceilingRound, handMadeRun } from '../examples/demo/ceiling';

const batch = 256;

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { records: { type: 'string' } } });
  const cities = loadCities();
  const records = Math.min(cities.length, Number(values.records ?? cities.length));
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const atlas = await buildAtlas(cities);
  console.log(
    `Node ${process.versions.node}, ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(2)}; ${records.toLocaleString('en')} records, ` +
      `${batch} a batch, ${rounds} rounds (one thread, then two, in turn).\n`,
  );
  const one: number[] = [];
  const two: number[] = [];
  const hand: number[] = [];
  const file = join(tmpdir(), `looppool-cores-${process.pid}.jsonl`);
  const alone: number[] = [];
  const beside: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const { one: single, two: pair } = await ceilingRound(atlas.data, records, batch);
    one.push(single.wall);
    two.push(pair.wall);
    alone.push((single.threads[0]! / records) * 1000);
    beside.push((pair.threads.reduce((a, b) => a + b, 0) / records) * 1000);
    hand.push(await handMadeRun(atlas.data, cities.slice(0, records), batch, file));
    rmSync(file, { force: true });
    console.log(
      `round ${round + 1}: one thread ${(single.wall / 1000).toFixed(2)} s, two threads ${(pair.wall / 1000).toFixed(2)} s: ` +
        `${(single.wall / pair.wall).toFixed(2)}×; two by hand (records sent, file written) ${(hand[round]! / 1000).toFixed(2)} s: ` +
        `${(single.wall / hand[round]!).toFixed(2)}×`,
    );
  }
  const speedUps = one.map((ms, i) => ms / two[i]!);
  console.log('');
  console.log('| | one thread | two threads at once | two by hand, records sent, file written |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| wall time (median) | ${(median(one) / 1000).toFixed(2)} s | ${(median(two) / 1000).toFixed(2)} s | ${(median(hand) / 1000).toFixed(2)} s |`);
  console.log(`| thread time per record (median) | ${median(alone).toFixed(1)} µs | ${median(beside).toFixed(1)} µs | |`);
  console.log('');
  console.log(
    `Speed-up of two bare threads: median ${median(speedUps).toFixed(2)}×, worst ${Math.min(...speedUps).toFixed(2)}×, best ${Math.max(...speedUps).toFixed(2)}×; ` +
      `a record costs ${((median(beside) / median(alone) - 1) * 100).toFixed(0)}% more thread time beside another thread.`,
  );
  const byHand = one.map((ms, i) => ms / hand[i]!);
  console.log(
    `Speed-up of two threads by hand (the demo's ETL without a pool): median ${median(byHand).toFixed(2)}×, ` +
      `${(median(byHand) / median(speedUps)).toFixed(2)} of the bare threads' (same rounds).`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

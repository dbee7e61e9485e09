/**
 * `npm run bench:elastic` (and the last part of `npm run bench`): an elastic pool against a
 * fixed one and piscina's, side by side in one run, 2 threads at most each.
 *
 * Bursty load, two shapes: 20 bursts of 200 tasks of 2 ms of CPU, 300 ms apart (400 ms of CPU
 * every 300 ms: two threads never idle), and 20 bursts of 50 (100 ms of CPU every 300 ms: a
 * thread may idle between bursts); each task sent with `run()`. Per contender and shape: throughput (tasks over the time from the first send to the last
 * result), p99 time from send to result, and the live threads on average (sampled every 10 ms),
 * which is what the idle ones cost in memory. Cold burst: from a pool at its minimum (ready),
 * the time until 1,000 tasks of 2 ms sent at once have all returned. Median of
 * `BENCH_ROUNDS` rounds (3 by default; more give steadier ratios), each contender in turn,
 * starting one further along in each round so that none always follows the same one. The
 * ratios are the median of each round's own ratios (contenders measured seconds apart), not
 * ratios of medians taken from different rounds, so that a machine whose load changes from
 * round to round moves them less. `BENCH_BASE_DIR=<a checkout built with npm run build>` adds
 * that build's elastic pool (`idleTimeout: 100`) as one more contender, to compare two builds
 * in one run.
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Piscina } from 'piscina';
import { createPool } from 'looppool';
import { calibrate } from './peers/tasks.cjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const peers = join(__dirname, 'peers');
/** The idle time of both elastic pools: below the 300 ms between bursts, so that idle threads do stop. */
const idleTimeout = 100;
const bursts = 20;
/** Tasks per burst, one table each: the first keeps two threads busy, the second leaves them idle between bursts. */
const shapes = [200, 50];
const gapMs = 300;
const coldTasks = 1_000;

interface Task {
  readonly s: 'burst';
  readonly x: number;
}

/** A pool as the bench uses it: run one task, how many threads live now, close. */
interface Contender {
  readonly name: string;
  start(): Promise<{ run(task: Task): Promise<unknown>; threads(): number; close(): Promise<void> }>;
}

/** A looppool contender: this checkout's, or another build's `createPool` with that build's worker module. */
const looppool = (name: string, size: number | { min: number; max: number }, idle?: number, build = { createPool, peers }): Contender => ({
  name,
  async start() {
    const options = { size, ...(idle === undefined ? {} : { idleTimeout: idle }) };
    const pool = build.createPool<Task, number>(join(build.peers, 'looppool.worker.cjs'), options);
    await pool.ready;
    return { run: (task) => pool.run(task), threads: () => pool.size, close: () => pool.stop() };
  },
});

const piscina: Contender = {
  name: 'piscina { minThreads: 1, maxThreads: 2, idleTimeout: 100 }',
  async start() {
    const pool = new Piscina({ filename: join(peers, 'piscina.worker.cjs'), minThreads: 1, maxThreads: 2, idleTimeout });
    // piscina has no ready Promise: one task makes sure its first thread has started.
    await pool.run({ s: 'burst', x: 0 });
    return { run: (task) => pool.run(task), threads: () => pool.threads.length, close: () => pool.destroy() };
  },
};

const contenders: Contender[] = [
  looppool(`looppool { min: 1, max: 2 }, idleTimeout: ${idleTimeout}`, { min: 1, max: 2 }, idleTimeout),
  looppool('looppool { min: 1, max: 2 }, idleTimeout: 10000 (default)', { min: 1, max: 2 }),
  looppool('looppool, fixed size 2', 2),
  piscina,
];
const baseDir = process.env.BENCH_BASE_DIR;
if (baseDir) {
  const base = { createPool: (require(join(resolve(baseDir), 'dist', 'index.js')) as { createPool: typeof createPool }).createPool, peers: join(resolve(baseDir), 'bench', 'peers') };
  contenders.splice(1, 0, looppool(`looppool { min: 1, max: 2 }, idleTimeout: ${idleTimeout}, build at ${baseDir}`, { min: 1, max: 2 }, idleTimeout, base));
}

interface Figures {
  readonly throughput: number;
  readonly p99: number;
  readonly threads: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function bursty(contender: Contender, perBurst: number): Promise<Figures> {
  const pool = await contender.start();
  const latencies: number[] = [];
  let threadSum = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    threadSum += pool.threads();
    samples++;
  }, 10);
  const started = performance.now();
  const all: Array<Promise<unknown>> = [];
  for (let burst = 0; burst < bursts; burst++) {
    for (let i = 0; i < perBurst; i++) {
      const sent = performance.now();
      all.push(pool.run({ s: 'burst', x: i }).then(() => void latencies.push(performance.now() - sent)));
    }
    if (burst < bursts - 1) await sleep(gapMs);
  }
  await Promise.all(all);
  const elapsed = performance.now() - started;
  clearInterval(sampler);
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    throughput: (bursts * perBurst) / (elapsed / 1000),
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
    threads: threadSum / Math.max(1, samples),
  };
}

async function cold(contender: Contender): Promise<number> {
  const pool = await contender.start();
  const started = performance.now();
  await Promise.all(Array.from({ length: coldTasks }, (_, x) => pool.run({ s: 'burst', x })));
  const ms = performance.now() - started;
  await pool.close();
  return ms;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The contenders in the order round `round` runs them: each round starts one further along. */
const inTurn = (round: number): Contender[] => contenders.map((_, at) => contenders[(round + at) % contenders.length]!);

/** Per contender, one entry per round, in round order. */
type Rounds<F> = Map<string, F[]>;

async function main(): Promise<void> {
  process.env.BENCH_BURN_PER_MS ??= String(calibrate());
  console.log(`Node ${process.versions.node}, ${availableParallelism()} cores; median of ${rounds} rounds.\n`);
  const cold1000: Rounds<number> = new Map(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) for (const contender of inTurn(round)) cold1000.get(contender.name)!.push(await cold(contender));
  for (const perBurst of shapes) {
    const runs: Rounds<Figures> = new Map(contenders.map((c) => [c.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const contender of inTurn(round)) runs.get(contender.name)!.push(await bursty(contender, perBurst));
    }
    table(`${bursts} bursts of ${perBurst} tasks of 2 ms, ${gapMs} ms apart`, runs, cold1000);
  }
}

/** The median over the rounds of `name`'s throughput divided by `against`'s in the same round. */
function ratio(runs: Rounds<Figures>, name: string, against: string): number {
  const theirs = runs.get(against)!;
  return median(runs.get(name)!.map((figures, round) => figures.throughput / theirs[round]!.throughput));
}

function table(shape: string, runs: Rounds<Figures>, cold1000: Rounds<number>): void {
  const fixed = 'looppool, fixed size 2';
  console.log(`### Elastic pools: ${shape}; a cold burst\n`);
  console.log('| contender | tasks/s | vs fixed 2 | vs piscina | p99 send to result | live threads, average | cold burst: 1,000 tasks |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const contender of contenders) {
    const figures = runs.get(contender.name)!;
    console.log(
      `| ${contender.name} | ${Math.round(median(figures.map((f) => f.throughput)))} | ${ratio(runs, contender.name, fixed).toFixed(3)}× | ` +
        `${ratio(runs, contender.name, piscina.name).toFixed(3)}× | ${median(figures.map((f) => f.p99)).toFixed(1)} ms | ` +
        `${median(figures.map((f) => f.threads)).toFixed(2)} | ${median(cold1000.get(contender.name)!).toFixed(0)} ms |`,
    );
  }
  console.log('');
}

void main();

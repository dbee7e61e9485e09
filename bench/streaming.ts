/**
 * The streaming scenario of `npm run bench` (also `npm run bench:streaming`): one task yields
 * 1,000,000 small values (numbers, from an async generator) through `pool.process` to a
 * subscriber that counts them, on one worker thread and on one worker process. Each is run
 * paced (the default `streamWindow`) and unpaced (`streamWindow: Infinity`, streaming as it
 * was before credits), the two in alternation in the same process, `BENCH_ROUNDS` rounds
 * (default 5); the table gives the median values/s of each and their ratio.
 *
 * `npm run bench:streaming -- 200000` streams fewer values; `BENCH_STREAM_WINDOWS=1024,8192`
 * runs each of those windows paced (default: 1024, the default window).
 */
import { join } from 'node:path';
import { count, lastValueFrom } from 'rxjs';
import { createPool, type LoopPool, type WorkerType } from 'looppool';

const values = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const worker = join(__dirname, 'streaming.worker.ts');
const windows = (process.env.BENCH_STREAM_WINDOWS ?? '1024').split(',').map(Number);

interface Contender {
  readonly workerType: WorkerType;
  /** `streamWindow`; Infinity: unpaced. */
  readonly window: number;
  readonly pool: LoopPool<number, number>;
  readonly rates: number[];
}

/** Values per second of one run of the task. */
async function run(pool: LoopPool<number, number>): Promise<number> {
  const started = performance.now();
  const received = await lastValueFrom(pool.process([values]).pipe(count()));
  if (received !== values) throw new Error(`expected ${values} values, got ${received}`);
  return values / ((performance.now() - started) / 1000);
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const figure = (x: number): string => Math.round(x).toLocaleString('en');

async function main(): Promise<void> {
  const contenders: Contender[] = [];
  for (const workerType of ['thread', 'process'] as const) {
    for (const window of [...windows, Infinity]) {
      const pool = createPool<number, number>(worker, { size: 1, workerType, streamWindow: window });
      await pool.ready;
      await run(pool); // warm-up
      contenders.push({ workerType, window, pool, rates: [] });
    }
  }
  for (let round = 0; round < rounds; round++) for (const contender of contenders) contender.rates.push(await run(contender.pool));
  await Promise.all(contenders.map((contender) => contender.pool.stop()));
  const lines = [
    `### Streaming: one task yields ${values.toLocaleString('en')} small values`,
    '',
    '| workers | `streamWindow` | values/s (median) | vs unpaced |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const workerType of ['thread', 'process'] as const) {
    const unpaced = median(contenders.find((c) => c.workerType === workerType && c.window === Infinity)!.rates);
    for (const contender of contenders.filter((c) => c.workerType === workerType)) {
      const rate = median(contender.rates);
      const window = contender.window === Infinity ? 'Infinity (unpaced)' : contender.window.toLocaleString('en');
      lines.push(`| ${workerType} | ${window} | ${figure(rate)} | ${(rate / unpaced).toFixed(3)}× |`);
    }
  }
  console.log([...lines, ''].join('\n'));
}

void main();

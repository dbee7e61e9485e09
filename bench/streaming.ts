/**
 * The streaming scenario of `npm run bench` (also `npm run bench:streaming`): one task yields
 * 1,000,000 small values (numbers, from an async generator) through `pool.process` to a
 * subscriber that counts them, on one worker thread and on one worker process. Each is run
 * paced (the default `streamWindow`) and unpaced (`streamWindow: Infinity`, streaming as it
 * was before credits), the two in alternation in the same process, `BENCH_ROUNDS` rounds
 * (default 5); the table gives the median values/s of each and their ratio.
 *
 * `npm run bench:streaming -- 200000` streams fewer values.
 */
import { join } from 'node:path';
import { count, lastValueFrom } from 'rxjs';
import { createPool, type LoopPool, type WorkerType } from 'looppool';

const values = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const worker = join(__dirname, 'streaming.worker.ts');

interface Contender {
  readonly workerType: WorkerType;
  readonly paced: boolean;
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
    for (const paced of [true, false]) {
      const pool = createPool<number, number>(worker, { size: 1, workerType, ...(paced ? {} : { streamWindow: Infinity }) });
      await pool.ready;
      await run(pool); // warm-up
      contenders.push({ workerType, paced, pool, rates: [] });
    }
  }
  for (let round = 0; round < rounds; round++) for (const contender of contenders) contender.rates.push(await run(contender.pool));
  await Promise.all(contenders.map((contender) => contender.pool.stop()));
  const lines = [
    `### Streaming: one task yields ${values.toLocaleString('en')} small values`,
    '',
    '| workers | paced (`streamWindow` 1024), values/s | unpaced (`streamWindow: Infinity`), values/s | paced vs unpaced |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const workerType of ['thread', 'process'] as const) {
    const paced = median(contenders.find((c) => c.workerType === workerType && c.paced)!.rates);
    const unpaced = median(contenders.find((c) => c.workerType === workerType && !c.paced)!.rates);
    lines.push(`| ${workerType} | ${figure(paced)} | ${figure(unpaced)} | ${(paced / unpaced).toFixed(3)}× |`);
  }
  console.log([...lines, ''].join('\n'));
}

void main();

/**
 * `npm run bench:ab -- DIR`: this checkout against another one (DIR, built with `npm run build`),
 * side by side in one process, on scenario (a) of `npm run bench`: 200,000 tiny tasks, 2
 * workers, 32 in flight per worker, for `pool.process` and for the operator over a pool.
 * Rounds alternate between the two builds, so that both see the same machine; prints the
 * median tasks/s of each and their ratio. `BENCH_ROUNDS` sets the rounds (default 7).
 */
import { join, resolve } from 'node:path';
import { count, lastValueFrom, map, range } from 'rxjs';

type Api = typeof import('looppool');
type Task = { s: 'tiny'; x: number };

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const total = 200_000;
const here = resolve(__dirname, '..');
const other = process.argv[2] ? resolve(process.argv[2]) : undefined;

const ways: Record<string, (api: Api, pool: ReturnType<Api['createPool']>) => Promise<number>> = {
  'pool.process': (_api, pool) =>
    lastValueFrom(
      pool
        .process(
          (function* () {
            for (let x = 0; x < total; x++) yield { s: 'tiny', x } as Task;
          })(),
        )
        .pipe(count()),
    ),
  'operator on a pool': (api, pool) =>
    lastValueFrom(range(0, total).pipe(map((x): Task => ({ s: 'tiny', x })), api.loopPool(pool as never), count())),
};

async function rate(dir: string, way: string): Promise<number> {
  const api = require(join(dir, 'dist/index.js')) as Api;
  const pool = api.createPool<Task, unknown>(join(dir, 'bench/peers/looppool.worker.cjs'), { size: 2, concurrency: 32, queueSize: 0 });
  try {
    await pool.ready;
    await ways[way]!(api, pool); // warm-up
    const started = performance.now();
    const done = await ways[way]!(api, pool);
    if (done !== total) throw new Error(`${dir}: ${done} of ${total} results`);
    return total / ((performance.now() - started) / 1000);
  } finally {
    await pool.stop();
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  if (!other) throw new Error('usage: npm run bench:ab -- DIR (another checkout of looppool, built)');
  console.log(`A: ${here}\nB: ${other}\n${rounds} rounds each, alternating\n`);
  console.log('| way | A tasks/s | B tasks/s | A / B |\n|---|---:|---:|---:|');
  for (const way of Object.keys(ways)) {
    const a: number[] = [];
    const b: number[] = [];
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        a.push(await rate(here, way));
        b.push(await rate(other, way));
      } else {
        b.push(await rate(other, way));
        a.push(await rate(here, way));
      }
    }
    const [ma, mb] = [median(a), median(b)];
    console.log(`| ${way} | ${Math.round(ma).toLocaleString('en')} | ${Math.round(mb).toLocaleString('en')} | ${(ma / mb).toFixed(2)} |`);
  }
}

void main();

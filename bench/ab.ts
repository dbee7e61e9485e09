/**
 * `npm run bench:ab -- DIR`: this checkout against another one (DIR, built with `npm run build`),
 * side by side in one process, on scenario (a) of `npm run bench`: 200,000 tiny tasks
 * (`x => x + 1`), 2 workers, 32 in flight per worker, for `pool.process` and for the operator
 * over a pool; and the same tasks written `async x => x + 1`. Rounds alternate between the two
 * builds, so that both see the same machine; prints the median tasks/s of each and their
 * ratio, and how many tasks and results the main thread's messages carried on average (every
 * `postMessage` on a `MessagePort` during the timed run, counted; a message of looppool's
 * protocol is a flat array of `[op, id, payload]` triples) and how long a post took.
 * `BENCH_ROUNDS` sets the rounds (default 7); `BENCH_CONCURRENCY` and `BENCH_QUEUE_SIZE` the
 * pools' options (default 32 and 0).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MessagePort } from 'node:worker_threads';
import { count, lastValueFrom, map, range } from 'rxjs';

type Api = typeof import('looppool');
type Task = number;

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const queueSize = Number(process.env.BENCH_QUEUE_SIZE ?? 0);
const total = 200_000;
const here = resolve(__dirname, '..');
const other = process.argv[2] ? resolve(process.argv[2]) : undefined;

/** The worker of each build, written to a temporary folder: a sync and an async handler. */
const workers = mkdtempSync(join(tmpdir(), 'looppool-ab-'));
function workerOf(dir: string, kind: 'sync' | 'async'): string {
  const file = join(workers, `${Buffer.from(dir).toString('hex')}.${kind}.cjs`);
  const handler = kind === 'sync' ? '(x) => x + 1' : 'async (x) => x + 1';
  writeFileSync(file, `require(${JSON.stringify(join(dir, 'dist/worker/index.js'))}).defineWorker(${handler});\n`);
  return file;
}

const process$ = (pool: ReturnType<Api['createPool']>): Promise<number> =>
  lastValueFrom(
    pool
      .process(
        (function* () {
          for (let x = 0; x < total; x++) yield x as Task;
        })(),
      )
      .pipe(count()),
  );

const ways: Record<string, { readonly kind: 'sync' | 'async'; run(api: Api, pool: ReturnType<Api['createPool']>): Promise<number> }> = {
  'pool.process': { kind: 'sync', run: (_api, pool) => process$(pool) },
  'operator on a pool': { kind: 'sync', run: (api, pool) => lastValueFrom(range(0, total).pipe(map((x): Task => x), api.loopPool(pool as never), count())) },
  'pool.process, async tasks': { kind: 'async', run: (_api, pool) => process$(pool) },
};

/** What the main thread's messages carried in a run, on average. */
interface Messages {
  readonly triplesPerMessage: number;
  readonly microsPerPost: number;
}

/** Counts and times the main thread's `postMessage` calls, and the triples they carry, while `run` runs. */
async function countingMessages<X>(run: () => Promise<X>): Promise<{ result: X } & Messages> {
  const post = MessagePort.prototype.postMessage;
  let messages = 0;
  let triples = 0;
  let ms = 0;
  MessagePort.prototype.postMessage = function (this: MessagePort, message: unknown, ...rest: never[]) {
    messages++;
    if (Array.isArray(message)) triples += message.length / 3;
    const started = performance.now();
    try {
      return post.call(this, message, ...rest);
    } finally {
      ms += performance.now() - started;
    }
  };
  try {
    const result = await run();
    return { result, triplesPerMessage: triples / Math.max(1, messages), microsPerPost: (ms * 1000) / Math.max(1, messages) };
  } finally {
    MessagePort.prototype.postMessage = post;
  }
}

async function rate(dir: string, way: string): Promise<{ rate: number } & Messages> {
  const api = require(join(dir, 'dist/index.js')) as Api;
  const pool = api.createPool<Task, unknown>(workerOf(dir, ways[way]!.kind), { size: 2, concurrency, queueSize });
  try {
    await pool.ready;
    await ways[way]!.run(api, pool); // warm-up
    const started = performance.now();
    const { result: done, ...messages } = await countingMessages(() => ways[way]!.run(api, pool));
    if (done !== total) throw new Error(`${dir}: ${done} of ${total} results`);
    return { rate: total / ((performance.now() - started) / 1000), ...messages };
  } finally {
    await pool.stop();
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  if (!other) throw new Error('usage: npm run bench:ab -- DIR (another checkout of looppool, built)');
  console.log(`A: ${here}\nB: ${other}\n${rounds} rounds each, alternating; concurrency ${concurrency}, queueSize ${queueSize}\n`);
  console.log(
    '| way | A tasks/s | B tasks/s | A / B | A triples a message | B triples a message | A µs a post | B µs a post |\n|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const way of Object.keys(ways)) {
    const a: Array<{ rate: number } & Messages> = [];
    const b: Array<{ rate: number } & Messages> = [];
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        a.push(await rate(here, way));
        b.push(await rate(other, way));
      } else {
        b.push(await rate(other, way));
        a.push(await rate(here, way));
      }
    }
    const [ma, mb] = [median(a.map((r) => r.rate)), median(b.map((r) => r.rate))];
    const [ta, tb] = [median(a.map((r) => r.triplesPerMessage)), median(b.map((r) => r.triplesPerMessage))];
    const [pa, pb] = [median(a.map((r) => r.microsPerPost)), median(b.map((r) => r.microsPerPost))];
    console.log(
      `| ${way} | ${Math.round(ma).toLocaleString('en')} | ${Math.round(mb).toLocaleString('en')} | ${(ma / mb).toFixed(2)} | ` +
        `${ta.toFixed(1)} | ${tb.toFixed(1)} | ${pa.toFixed(1)} | ${pb.toFixed(1)} |`,
    );
  }
}

void main();

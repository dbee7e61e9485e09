/**
 * `npm run bench:ab -- DIR`: this checkout against another one (DIR, built with `npm run build`;
 * without DIR, commit `BENCH_BASE`, default 5967d35, the commit before the port layer of issue
 * 20, exported and built in a temporary folder), side by side in one process, on scenario (a)
 * of `npm run bench`: 200,000 tiny tasks (`x => x + 1`), 2 workers, 32 in flight per worker,
 * for `pool.process` and for the operator over a pool; the same tasks written `async x => x +
 * 1`; and, with nats-server installed, `npm run bench:cluster`'s tiny tasks through one host of
 * one thread (`concurrency` 1, `queueSize` 2,048; each build with its own host). Rounds alternate between the two
 * builds, so that both see the same machine; prints the median tasks/s of each and their
 * ratio, and how many tasks and results the main thread's messages carried on average (every
 * `postMessage` on a `MessagePort` during the timed run, counted; a message of looppool's
 * protocol is a flat array of `[op, id, payload]` triples) and how long a post took.
 * `BENCH_ROUNDS` sets the rounds (default 7); `BENCH_CONCURRENCY` and `BENCH_QUEUE_SIZE` the
 * pools' options (default 32 and 0).
 */
import { execSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MessagePort } from 'node:worker_threads';
import { count, lastValueFrom, map, range } from 'rxjs';
import { natsInstalled, startNats, type NatsServer } from '../test/support/nats';

type Api = typeof import('looppool');
type Task = number;

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const queueSize = Number(process.env.BENCH_QUEUE_SIZE ?? 0);
const total = 200_000;
const here = resolve(__dirname, '..');
const other = process.argv[2] ? resolve(process.argv[2]) : built(process.env.BENCH_BASE ?? '5967d35');

/** Commit `commit` of this repository, exported to a temporary folder and built with this checkout's node_modules. */
function built(commit: string): string {
  const dir = mkdtempSync(join(tmpdir(), `looppool-${commit}-`));
  execSync(`git archive ${commit} | tar -x -C ${dir}`, { cwd: here, stdio: 'inherit' });
  symlinkSync(join(here, 'node_modules'), join(dir, 'node_modules'));
  execSync('npm run build', { cwd: dir, stdio: 'ignore' });
  return dir;
}

/** The worker of each build, written to a temporary folder: a sync and an async handler, and bench:cluster's (`{ id }` → `id`). */
const workers = mkdtempSync(join(tmpdir(), 'looppool-ab-'));
function workerOf(dir: string, kind: 'sync' | 'async' | 'cluster'): string {
  const file = join(workers, `${Buffer.from(dir).toString('hex')}.${kind}.cjs`);
  const handler = { sync: '(x) => x + 1', async: 'async (x) => x + 1', cluster: '(task) => task.id' }[kind];
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

const clusterWay = 'nats, one host, tiny tasks';
const ways: Record<string, { readonly kind: 'sync' | 'async' | 'cluster'; run(api: Api, pool: ReturnType<Api['createPool']>): Promise<number> }> = {
  'pool.process': { kind: 'sync', run: (_api, pool) => process$(pool) },
  'operator on a pool': { kind: 'sync', run: (api, pool) => lastValueFrom(range(0, total).pipe(map((x): Task => x), api.loopPool(pool as never), count())) },
  'pool.process, async tasks': { kind: 'async', run: (_api, pool) => process$(pool) },
  [clusterWay]: { kind: 'cluster', run: () => Promise.reject(new Error('run by clusterRate')) },
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

let server: NatsServer | undefined;
let clusterPools = 0;

/** bench:cluster's tiny tasks through one host of one thread of build `dir`, started here and stopped after. */
async function clusterRate(dir: string): Promise<{ rate: number } & Messages> {
  const api = require(join(dir, 'dist/index.js')) as Api;
  const { nats } = require(join(dir, 'dist/nats/index.js')) as typeof import('looppool/nats');
  const name = `ab-${++clusterPools}`;
  const args = [join(dir, 'dist/host/main.js'), workerOf(dir, 'cluster'), '--nats', server!.url, '--pool', name, '--threads', '1'];
  const host = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((serving) => host.stdout.on('data', (chunk: Buffer) => /serving pool/.test(chunk.toString()) && serving()));
    const pool = api.createPool<{ id: number }, number>(workerOf(dir, 'cluster'), {
      size: 1,
      concurrency: 1,
      queueSize: 2_048,
      transport: nats({ servers: server!.url, pool: name }),
    });
    try {
      await pool.ready;
      const started = performance.now();
      const done = await lastValueFrom(pool.process(range(0, total).pipe(map((id) => ({ id })))).pipe(count()));
      if (done !== total) throw new Error(`${dir}: ${done} of ${total} results over NATS`);
      return { rate: total / ((performance.now() - started) / 1000), triplesPerMessage: NaN, microsPerPost: NaN };
    } finally {
      await pool.terminate();
    }
  } finally {
    host.kill('SIGTERM');
    if (host.exitCode === null) await once(host, 'exit');
  }
}

async function rate(dir: string, way: string): Promise<{ rate: number } & Messages> {
  if (way === clusterWay) return clusterRate(dir);
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
  if (natsInstalled) server = await startNats();
  else console.log('no nats-server: the cluster row is left out (apt-get install -y nats-server)');
  console.log(`A: ${here}\nB: ${other}\n${rounds} rounds each, alternating; concurrency ${concurrency}, queueSize ${queueSize}\n`);
  console.log(
    '| way | A tasks/s | B tasks/s | A / B | A triples a message | B triples a message | A µs a post | B µs a post |\n|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const way of Object.keys(ways).filter((way) => server || way !== clusterWay)) {
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
  await server?.stop();
}

void main();

/**
 * The pools the benchmark compares, behind one interface. Each gets 2 workers (threads; child
 * processes for the {@link processContenders}) and at
 * most 64 tasks in flight: a pool that can run several tasks per worker is allowed 32 each
 * (piscina and tinypool `concurrentTasksPerWorker`, poolifier's task queue `concurrency`,
 * threads.js `concurrency`, looppool `concurrency`); workerpool runs one task at a time per
 * worker and queues the rest.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { count, from, lastValueFrom, map, range } from 'rxjs';
import { Piscina } from 'piscina';
import { Pool as ThreadsPool, spawn, Transfer, Worker as ThreadsWorker } from 'threads';
import workerpool from 'workerpool';
import { createPool, loopPool, type LoopPool, type LoopPoolOptions, type WorkerType } from 'looppool';
import { run as runOnMainThread } from './peers/tasks.cjs';

/** A threads.js worker that exposes `run`. */
type ThreadsRunner = { run(task: unknown): Promise<unknown> };

/** One benchmark task: the scenario's function and its input. */
export interface Task {
  readonly s: 'tiny' | 'cpu' | 'io' | 'buffer' | 'uneven' | 'small';
  readonly x: unknown;
}

/** A pool under test. */
export interface Contender {
  readonly name: string;
  /** The only scenarios it takes part in; every scenario when absent. */
  readonly scenarios?: readonly string[];
  /** Creates the pool: 2 workers, at most 64 tasks in flight; resolves when it can take tasks. */
  start(): Promise<void>;
  /** Runs `total` tasks made by `make`, at most 64 in flight, and resolves with the number of results. */
  runAll(total: number, make: (i: number) => Task, transfer: boolean): Promise<number>;
  stop(): Promise<void>;
}

const peers = join(__dirname, 'peers');
const size = 2;
const perWorker = 32;
const inFlight = size * perWorker;

/** Keeps at most `limit` tasks in flight through `submit` until `total` have completed. */
function feed(total: number, limit: number, submit: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  let done = 0;
  return new Promise((resolve, reject) => {
    const launch = (): void => {
      if (next >= total) return;
      submit(next++).then(() => (++done === total ? resolve(done) : launch()), reject);
    };
    if (total === 0) resolve(0);
    for (let i = 0; i < Math.min(limit, total); i++) launch();
  });
}

/** The buffer of a buffer task, when it is to be transferred. */
/**
 * Waits for a pool's shutdown, but at most `ms`: poolifier 5.3.2's `destroy()` sometimes never
 * settles (3 runs in 20 of a start, one task, destroy, on Node 24 and 26) once its workers have
 * exited, which left the benchmark's event loop empty and the process gone without a result.
 */
async function settleWithin(name: string, shutdown: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const outcome = await Promise.race([shutdown.then(() => 'done' as const), late]).finally(() => clearTimeout(timer));
  if (outcome === 'late') process.stderr.write(`${name}: shutdown did not settle in ${ms} ms; going on without it\n`);
}

const transferable = (task: Task, transfer: boolean): ArrayBuffer[] =>
  transfer && task.x instanceof ArrayBuffer ? [task.x] : [];

/** A pool that takes one task at a time, fed by {@link feed}. */
function perTask(
  name: string,
  create: () => Promise<{ submit(task: Task, transfer: boolean): PromiseLike<unknown>; close(): PromiseLike<unknown> }>,
): Contender {
  let pool: Awaited<ReturnType<typeof create>> | undefined;
  return {
    name,
    start: async () => void (pool = await create()),
    runAll: (total, make, transfer) => feed(total, inFlight, async (i) => pool!.submit(make(i), transfer)),
    stop: async () => void (await pool?.close()),
  };
}

/** looppool's options: `moving()` says whether the current run transfers its buffers. */
const looppoolOptions = (moving: () => boolean, workerType: WorkerType = 'thread'): LoopPoolOptions<unknown, Task> => ({
  size,
  concurrency: perWorker,
  queueSize: 0,
  transfer: (task: Task) => transferable(task, moving()),
  workerType,
});

/**
 * The contenders whose workers are child processes (issue 15). They are compared with each
 * other, not with the thread pools: tiny tasks, 5 ms CPU tasks and start-up only.
 */
export const processContenders: readonly string[] = ['looppool processes (pool.process)', 'tinypool (child_process)'];
const processScenarios = ['a', 'b', 'e'];

/**
 * looppool's long-lived pool, started before the runs as the peers are: tasks pulled from a
 * generator with `pool.process`, or pushed by `range` through the operator on the pool.
 */
function looppoolPool(
  name: string,
  runOn: (pool: LoopPool<Task, unknown>, total: number, make: (i: number) => Task) => Promise<number>,
  workerType: WorkerType = 'thread',
  watched?: 'traced' | 'inspect',
): Contender {
  let pool: LoopPool<Task, unknown> | undefined;
  let moving = false;
  let untrace: (() => void) | undefined;
  return {
    name,
    ...(workerType === 'process' ? { scenarios: processScenarios } : watched ? { scenarios: watchedScenarios } : {}),
    async start() {
      if (watched === 'traced') untrace = traceToNowhere();
      pool = createPool<Task, unknown>(join(peers, 'looppool.worker.cjs'), {
        ...looppoolOptions(() => moving, workerType),
        ...(watched === 'inspect' ? { inspect: true } : {}),
      });
      // Processes take tasks as each becomes ready, as tinypool's do: the first result need not
      // wait for the second process to start (on 2 cores, they start one beside the other).
      if (workerType === 'thread') await pool.ready;
    },
    runAll(total, make, transfer) {
      moving = transfer;
      return runOn(pool!, total, make);
    },
    stop: async () => {
      await pool?.stop();
      untrace?.();
    },
  };
}

/** The scenarios where what watching a pool costs is measured: tiny tasks and CPU-bound ones. */
const watchedScenarios = ['a', 'b'];

/**
 * Registers an OpenTelemetry tracer provider whose exporter drops every span, behind a batch
 * processor as an application's SDK has: what tracing costs the pool, without the export.
 * @returns what unregisters it.
 */
function traceToNowhere(): () => void {
  const { trace } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const nowhere = { export: (_spans: unknown, done: (result: { code: number }) => void) => done({ code: 0 }), shutdown: async () => {} };
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(nowhere)] });
  trace.setGlobalTracerProvider(provider);
  return () => {
    trace.disable();
    void provider.shutdown();
  };
}

/** Runs the tasks on a looppool pool, pulled from a generator by `pool.process`. */
function pulled(pool: LoopPool<Task, unknown>, total: number, make: (i: number) => Task): Promise<number> {
  function* tasks(): Generator<Task> {
    for (let i = 0; i < total; i++) yield make(i);
  }
  return lastValueFrom(pool.process(tasks()).pipe(count()));
}

/** The options and calls piscina and its fork tinypool share. */
interface PiscinaLikePool {
  run(task: unknown, options: { transferList: ArrayBuffer[] }): Promise<unknown>;
  destroy(): Promise<void>;
}
type PiscinaLikeOptions = {
  filename: string;
  minThreads: number;
  maxThreads: number;
  concurrentTasksPerWorker: number;
  runtime?: 'child_process';
  env?: Record<string, string>;
};

/** piscina, or tinypool (`runtime: 'child_process'` for its process workers): `stem` is that of its worker file. */
function piscinaLike(
  name: string,
  load: () => Promise<new (options: PiscinaLikeOptions) => PiscinaLikePool>,
  stem = name,
  runtime?: 'child_process',
): Contender {
  const contender = perTask(name, async () => {
    const Pool = await load();
    const pool = new Pool({
      filename: join(peers, `${stem}.worker.cjs`),
      minThreads: size,
      maxThreads: size,
      concurrentTasksPerWorker: perWorker,
      // tinypool gives a child process an environment of its own TINYPOOL_WORKER_ID alone
      // unless told otherwise; looppool's inherit this process's, as Node's fork does. Both get
      // it here, since what a child's environment holds changes its start-up (Node 20 reads the
      // NODE_EXTRA_CA_CERTS file at start: about 55 ms on the machine of docs/performance.md).
      ...(runtime ? { runtime, env: process.env as Record<string, string> } : {}),
    });
    return {
      submit: (task, transfer) => pool.run(task, { transferList: transferable(task, transfer) }),
      close: () => pool.destroy(),
    };
  });
  return runtime ? { ...contender, scenarios: processScenarios } : contender;
}

/**
 * A limit: a hand-written pool with no features, as fast as 2 threads and `postMessage` go.
 * The main thread posts plain arrays of `batch` inputs, `inFlight` arrays in flight per
 * worker, to 2 workers, each of which applies the task to every input and posts the array
 * back: no task ids, no per-task results, no queues, no retries, no supervision, no
 * ordering. Tiny tasks (scenario a) only.
 *
 * `limit` posts 256 plain numbers at a time, 4 arrays in flight per worker (1,024 tasks;
 * `peers/limit.worker.cjs`). `limit at 32 in flight` keeps to the rules of the
 * other contenders: the task objects of `make` (`{ s: 'tiny', x }`), and 32 tasks in flight
 * per worker, one array of 32 (`peers/limit-tasks.worker.cjs`).
 */
function limit(name: string, batch: number, inFlight: number, taskObjects: boolean): Contender {
  let workers: Worker[] = [];
  return {
    name,
    scenarios: ['a'],
    async start() {
      workers = Array.from({ length: size }, () => new Worker(join(peers, taskObjects ? 'limit-tasks.worker.cjs' : 'limit.worker.cjs')));
      await Promise.all(workers.map((worker) => once(worker, 'online')));
    },
    runAll: (total, make) =>
      new Promise<number>((resolve) => {
        let next = 0;
        let done = 0;
        const post = (worker: Worker): void => {
          if (next >= total) return;
          const xs = new Array<number | Task>(Math.min(batch, total - next));
          for (let i = 0; i < xs.length; i++) xs[i] = taskObjects ? make(next + i) : next + i;
          next += xs.length;
          worker.postMessage(xs);
        };
        const listeners = workers.map((worker) => (xs: number[]) => {
          done += xs.length;
          if (done < total) return post(worker);
          workers.forEach((w, i) => w.off('message', listeners[i]!));
          resolve(done);
        });
        workers.forEach((worker, i) => worker.on('message', listeners[i]!));
        if (total === 0) return resolve(0);
        for (let k = 0; k < inFlight; k++) workers.forEach(post);
      }),
    stop: async () => void (await Promise.all(workers.map((worker) => worker.terminate()))),
  };
}

/** The contenders of the defaults scenario (g): 2 workers, every other option left out, as a new user writes it. */
export const defaultsContenders = {
  mainThread: 'main thread (a loop)',
  process: 'looppool defaults (pool.process)',
  operator: 'looppool defaults (operator on a pool)',
  piscina: 'piscina defaults',
} as const;

function defaultContenders(): Contender[] {
  const names = defaultsContenders;
  const only = { scenarios: ['g'] };
  const withPool = (name: string, runOn: (pool: LoopPool<Task, unknown>, total: number, make: (i: number) => Task) => Promise<number>): Contender => {
    let pool: LoopPool<Task, unknown> | undefined;
    return {
      name,
      ...only,
      async start() {
        pool = createPool<Task, unknown>(join(peers, 'looppool.worker.cjs'), { size });
        await pool.ready;
      },
      runAll: (total, make) => runOn(pool!, total, make),
      stop: async () => void (await pool?.stop()),
    };
  };
  let piscina: Piscina | undefined;
  return [
    {
      name: names.mainThread,
      ...only,
      start: async () => {},
      runAll: async (total, make) => {
        for (let i = 0; i < total; i++) runOnMainThread(make(i));
        return total;
      },
      stop: async () => {},
    },
    withPool(names.process, pulled),
    // A pushed synchronous source: `from` a generator, through the operator on the pool.
    withPool(names.operator, (pool, total, make) => {
      function* tasks(): Generator<Task> {
        for (let i = 0; i < total; i++) yield make(i);
      }
      return lastValueFrom(from(tasks()).pipe(loopPool(pool), count()));
    }),
    {
      name: names.piscina,
      ...only,
      start: async () => void (piscina = new Piscina({ filename: join(peers, 'piscina.worker.cjs'), minThreads: size, maxThreads: size })),
      runAll: async (total, make) => {
        const runs: Array<Promise<unknown>> = [];
        for (let i = 0; i < total; i++) runs.push(piscina!.run(make(i)));
        return (await Promise.all(runs)).length;
      },
      stop: async () => void (await piscina?.destroy()),
    },
  ];
}

/**
 * Contenders compared with each other by a goal, so run in paired rounds (bench/scenario.ts):
 * both started and warmed up, then each round runs one right after the other, the first of a
 * round alternating, so that neither always runs first (which moved the ratio by a tenth:
 * issue 25, item 9) and each ratio compares runs a second apart.
 */
export const pairs: ReadonlyArray<readonly [string, string]> = [
  ['looppool (operator on a pool)', 'looppool (pool.process)'],
  [defaultsContenders.operator, defaultsContenders.process],
];

export const contenders: Contender[] = [
  {
    name: 'main thread',
    start: async () => {},
    runAll: (total, make) => feed(total, inFlight, async (i) => runOnMainThread(make(i))),
    stop: async () => {},
  },
  limit('limit', 256, 4, false),
  limit('limit at 32 in flight', perWorker, 1, true),
  {
    // The operator on a worker path starts its workers with each subscription, so its
    // start-up (scenario e) is in every run.
    name: 'looppool (operator)',
    start: async () => {},
    runAll: (total, make, transfer) =>
      lastValueFrom(
        range(0, total).pipe(
          map(make),
          loopPool<Task, unknown>(join(peers, 'looppool.worker.cjs'), looppoolOptions(() => transfer)),
          count(),
        ),
      ),
    stop: async () => {},
  },
  looppoolPool('looppool (operator on a pool)', (pool, total, make) =>
    lastValueFrom(range(0, total).pipe(map(make), loopPool(pool), count())),
  ),
  looppoolPool('looppool (pool.process)', pulled),
  looppoolPool('looppool (pool.process) traced', pulled, 'thread', 'traced'),
  looppoolPool('looppool (pool.process) inspect', pulled, 'thread', 'inspect'),
  piscinaLike('piscina', async () => Piscina),
  piscinaLike('tinypool', async () => (await import('tinypool')).Tinypool), // ESM only
  perTask('workerpool', async () => {
    const pool = workerpool.pool(join(peers, 'workerpool.worker.cjs'), { minWorkers: size, maxWorkers: size, workerType: 'thread' });
    return {
      submit: async (task, transfer) => pool.exec('run', [task], { transfer: transferable(task, transfer) }),
      close: async () => pool.terminate(),
    };
  }),
  perTask('poolifier', async () => {
    const { FixedThreadPool } = await import('poolifier'); // ESM only
    const pool = new FixedThreadPool(size, join(peers, 'poolifier.worker.cjs'), {
      enableTasksQueue: true,
      tasksQueueOptions: { concurrency: perWorker },
    });
    await new Promise<void>((resolve) => (pool.info.ready ? resolve() : pool.emitter?.once('ready', () => resolve())));
    return {
      submit: (task, transfer) =>
        pool.execute(task, task.s === 'io' ? 'async' : 'sync', undefined, transferable(task, transfer)),
      close: () => settleWithin('poolifier', pool.destroy(), 5_000),
    };
  }),
  perTask('threads.js Pool', async () => {
    const pool = ThreadsPool(() => spawn(new ThreadsWorker('./peers/threads.worker.cjs') /* threads.js resolves it against this file */), { size, concurrency: perWorker });
    return {
      submit: (task, transfer) =>
        pool.queue((thread) => {
          const worker = thread as unknown as ThreadsRunner;
          return transfer ? worker.run(Transfer(task, transferable(task, true))) : worker.run(task);
        }),
      close: () => pool.terminate(true),
    };
  }),
  looppoolPool('looppool processes (pool.process)', pulled, 'process'),
  ...defaultContenders(),
  piscinaLike('tinypool (child_process)', async () => (await import('tinypool')).Tinypool, 'tinypool', 'child_process'),
];

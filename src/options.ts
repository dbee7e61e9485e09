import type { ResourceLimits, Transferable } from 'node:worker_threads';
import type { LoopPoolError } from './errors';
import type { PoolStats } from './metrics/stats';
import type { MetricsOptions } from './metrics/statsd';
import type { SizeRange } from './poolSize';
import type { ClusterTransport } from './transport/cluster';

/** How results count as consumed: once emitted, or once `done()` is called on their `Delivery`. */
export type AckMode = 'auto' | 'manual';

/**
 * Where each worker runs: `'thread'`, a `worker_threads` thread of this process; `'process'`,
 * a child process of its own (the `looppool-worker` host), isolated from native crashes and
 * process-wide state.
 */
export type WorkerType = 'thread' | 'process';

/** What to do with an input that arrives while the input buffer is full. */
export type OverflowStrategy = 'error' | 'drop-newest' | 'drop-oldest';

/**
 * A bound on the inputs a pipeline holds before workers take them, for sources that cannot
 * be slowed down (a Subject, `fromEvent`).
 */
export interface OverflowOptions {
  /** Inputs held at most. */
  size: number;
  /**
   * `'error'`: fail with `BufferOverflowError`. `'drop-newest'`: drop the input that arrived.
   * `'drop-oldest'`: drop the input that has waited longest, and keep the new one.
   */
  strategy: OverflowStrategy;
}

/** Options of {@link loopPool} over its own workers. Every field is optional. */
export interface LoopPoolOptions<D = unknown, T = unknown> {
  /**
   * Workers: threads, or processes with `workerType: 'process'`; with `transport`, the workers
   * the hosts of the cluster serve. A number is a fixed pool: every worker starts with it and
   * lives as long as it. `{ min, max }` is an elastic pool: `min` workers start with it, more
   * start while tasks wait and every running worker is full, up to `max`, and a worker idle
   * for `idleTimeout` stops, down to `min` (0 lets a pool stop them all).
   * @default os.availableParallelism() - 1, at least 1
   */
  size?: number | SizeRange;
  /**
   * Tasks in flight per worker. Above 1, a worker runs several tasks at once on its event
   * loop (useful for tasks that await I/O) and several tasks travel in one message.
   * @default 1
   */
  concurrency?: number;
  /**
   * Tasks handed to a worker beyond the `concurrency` it runs, waiting there so that the
   * worker starts the next one without a round trip to the main thread. 0 hands a task over
   * only when the worker can start it at once. Given, it bounds exactly. Left out, it adapts
   * to each worker: as many tasks as the worker ends in about 4 ms (a thread), 8 ms (a
   * process) or 20 ms (a cluster's worker) at its last rate, at least `concurrency` and at
   * most 1,024; tasks of a millisecond or more get `concurrency`. Beyond `concurrency` tasks,
   * it also stops once the tasks a worker holds weigh 8 MiB (strings, ArrayBuffers, typed
   * arrays and Buffers, at the top of the input or one level into a plain object or array).
   * @default adaptive, from concurrency to 1024
   */
  queueSize?: number;
  /**
   * Emit results in input order, as `concatMap` would, while tasks still run in parallel.
   * Results that finish early wait in a reorder buffer bounded by `bufferSize`.
   * @default false
   */
  ordered?: boolean;
  /**
   * Results held and not yet consumed. In ordered mode: results waiting for an earlier task;
   * no new task starts while this many wait, except the earliest unfinished one, so the
   * buffer always drains. In a pool: results not yet consumed from `results$`; no `put` task
   * starts while this many are pending. Tasks already running may add to it.
   * @default 1024
   */
  bufferSize?: number;
  /**
   * Values a streaming task (one that returns an AsyncIterable or an Observable) may yield
   * ahead of its consumer: yielded and not yet taken (emitted to the subscriber with
   * `ack: 'auto'`, `done()` with `ack: 'manual'`, out of the reorder buffer when `ordered`).
   * An AsyncIterable is read only while the task is within it; an Observable's values past
   * it wait in the worker (`streamBuffer`). The worker posts values and hears what was taken
   * in quarters of the window; the default is four of its largest messages (1,024 values), so
   * that a paced stream runs about as fast as an unpaced one. What a task holds is at most
   * the window times the size of a value. `Infinity` turns it off: a task yields as fast as it can.
   * @default 4096
   */
  streamWindow?: number;
  /**
   * Values of an Observable task that wait in its worker once it has `streamWindow` values in
   * flight (an Observable cannot be paused). One more fails the task with
   * `BufferOverflowError` and unsubscribes from it; return an AsyncIterable to be paused instead.
   * @default 16384
   */
  streamBuffer?: number;
  /**
   * Data for every worker: `ctx.workerData` in `init` and `process`, and, in a thread,
   * `workerData` of `node:worker_threads`. It is structured-cloned once per worker; a
   * `SharedArrayBuffer` inside it is shared with a thread, not copied (a worker process
   * refuses one: `TypeError` at once).
   * @default undefined
   */
  workerData?: D;
  /**
   * Bounds the inputs held before workers take them. Without it that buffer is unbounded: a
   * source that pushes faster than the workers (`from(array)`, a Subject) is held in full.
   * Sources that can be pulled (iterables, async iterables, readable streams) need no bound:
   * give them to `pool.process`.
   * @default undefined (unbounded)
   */
  overflow?: OverflowOptions;
  /**
   * Emit one record per result or failure, as `Promise.allSettled` does, instead of erroring
   * on the first failure: `{ status: 'fulfilled', value, input, index }` or
   * `{ status: 'rejected', reason, input, index }`. An ETL run then keeps every record.
   * @default false
   */
  settle?: boolean;
  /**
   * How many times a task whose worker crashed under it is run again, on a replacement
   * worker or another one. A task that was only waiting at the worker is sent again freely.
   * @default 1
   */
  retries?: number;
  /**
   * Worker replacements allowed in any minute. Past it, the pool fails with
   * `WorkerCrashError` instead of restarting a worker that keeps crashing.
   * @default 10
   */
  maxRestarts?: number;
  /**
   * Milliseconds a task may run. Past it, the task fails with `TaskTimeoutError` and its
   * `ctx.signal` is aborted; a worker that does not answer within `gracePeriod` after that
   * is terminated and replaced.
   * @default undefined (no limit)
   */
  taskTimeout?: number;
  /**
   * Milliseconds a worker gets to answer after a task timed out, and to run its abort
   * handlers and its cancelled generators' `finally` blocks when the pool stops, before it is
   * terminated.
   * @default 1000
   */
  gracePeriod?: number;
  /**
   * With `size: { min, max }`: milliseconds a worker may have nothing to run (nothing in
   * flight, nothing queued for it) before it is stopped gracefully, never below `min`.
   * A fixed pool ignores it.
   * @default 10000
   */
  idleTimeout?: number;
  /**
   * Heap limits of each worker, as `worker_threads` takes them. A worker that runs out of
   * memory fails its task with `WorkerCrashError` (reason `'out of memory'`) and is replaced.
   * For a worker process, `maxOldGenerationSizeMb` becomes its `--max-old-space-size` and
   * `maxYoungGenerationSizeMb` its `--max-semi-space-size`; the other two are for threads only.
   * @default undefined (Node's defaults)
   */
  resourceLimits?: ResourceLimits;
  /**
   * Where workers run: `'thread'`, a worker thread of this process, or `'process'`, a child
   * process each, forked with Node's IPC channel and `serialization: 'advanced'` (values
   * cross as structured clones, as between threads). A process survives what a thread does
   * not isolate (a native crash, `process.chdir`, `process.env`, signal handlers), but shares
   * no memory: `transfer` copies, and a `SharedArrayBuffer` in `workerData` or a task is refused.
   * @default 'thread'
   */
  workerType?: WorkerType;
  /**
   * Workers served from other hosts instead of started here: `nats({ servers, pool })` of
   * `looppool/nats` (see docs/cluster.md). The pool starts no thread or process; `size`
   * workers are served by `looppool-worker` hosts, which run their own copy of the module.
   * Not with an inline worker, nor with `workerType: 'process'`.
   * @default none: workers run on this machine
   */
  transport?: ClusterTransport;
  /**
   * On SIGINT or SIGTERM, stop gracefully: take no new input, finish every task taken, then
   * let the process exit. A second signal more than 1 s after the first terminates at once; one
   * within 1 s is the same Ctrl-C, forwarded by a wrapper (`npm run`, `tsx`) to a process that
   * already got it from its process group.
   * @default false
   */
  stopOnSignals?: boolean;
  /**
   * The pool's name: worker `i` is `<name>#<i>` in stats, errors and metric names, and the
   * process title of a worker process (`ps`, `htop`).
   * @default 'looppool'
   */
  name?: string;
  /**
   * Milliseconds between two snapshots on `pool.stats$` and to `onStats`.
   * @default 10000
   */
  statsInterval?: number;
  /** Called with a {@link PoolStats} every `statsInterval` ms. */
  onStats?: (stats: PoolStats) => void;
  /** Sends the figures to a statsd server through hot-shots. */
  metrics?: MetricsOptions;
  /**
   * Milliseconds a worker's event loop may stay blocked before a `LoopBlockedWarning` is
   * raised naming the worker and the task that was running (Tornado's
   * `set_blocking_log_threshold`). Each worker then writes a heartbeat to shared memory.
   * @default undefined (not watched)
   */
  blockingThreshold?: number;
  /** Called with every task error, worker crash and warning, with its context: wire Sentry or a logger here. */
  onError?: (error: LoopPoolError) => void;
  /**
   * What of a task to transfer to its worker instead of copying it (an `ArrayBuffer`, a
   * `MessagePort`): it is moved, and no longer usable here. For results, see `transfer` of
   * `defineWorker`.
   * @default undefined (everything is copied)
   */
  transfer?(task: T): readonly Transferable[];
}

/** Options of {@link createPool}: those of {@link LoopPoolOptions}, and how results are acknowledged. */
export interface PoolOptions<D = unknown, T = unknown> extends LoopPoolOptions<D, T> {
  /**
   * `'auto'`: a result is consumed once `results$` has emitted it. `'manual'`: `results$`
   * emits `Delivery` objects, and a result is consumed once its `done()` is called.
   * @default 'auto'
   */
  ack?: AckMode;
  /**
   * Milliseconds that every place of a result buffer with `ack: 'manual'` (the pool's, or a
   * `pool.process` pipeline's) may stay taken by deliveries not yet `done()` before a
   * `StalledSinkWarning` is reported, once, on `errors$` and to `onError`: a sink that
   * acknowledges only at a commit every N rows, N above `bufferSize`, waits for ever. A drain
   * that waits on such deliveries is reported too.
   * @default 5000
   */
  stallThreshold?: number;
  /**
   * Serves the pool's figures over HTTP for `looppool top` and Prometheus: `GET /stats` (JSON)
   * and `GET /metrics` (Prometheus text). `true` listens on a free port of 127.0.0.1; its
   * address is `await pool.inspectUrl`. A cluster pool (`transport: nats(...)`) also answers
   * `looppool top --nats <url> --pool <name>` through NATS.
   * @default false
   */
  inspect?: boolean | InspectOptions;
}

/** Where the `inspect` option serves the pool's figures. */
export interface InspectOptions {
  /** The TCP port; 0 for a free one. @default 0 */
  port?: number;
  /** The address to listen on. Anything but loopback lets other machines read the figures. @default '127.0.0.1' */
  host?: string;
}

/**
 * Options of `loopPool(pool, options)`, a pipeline over a pool it does not own. The pool's
 * own options are the defaults.
 */
export interface PipelineOptions {
  /** @default the pool's `ordered` */
  ordered?: boolean;
  /** @default the pool's `bufferSize` */
  bufferSize?: number;
  /** @default the pool's `overflow` */
  overflow?: OverflowOptions;
  /** @default the pool's `settle` */
  settle?: boolean;
}

/** {@link PoolOptions} with every default filled in. */
export interface ResolvedOptions<D = unknown> extends ResolvedPipelineOptions {
  readonly workerType: WorkerType;
  readonly transport: ClusterTransport | undefined;
  /** Workers at most: their indices go from 0 to `size - 1`. */
  readonly size: number;
  /** Workers that always run; `size` for a fixed pool. */
  readonly minSize: number;
  readonly idleTimeout: number;
  readonly concurrency: number;
  /** The given `queueSize`, or `concurrency` (the least it adapts from) when left to its default. */
  readonly queueSize: number;
  readonly streamWindow: number;
  readonly streamBuffer: number;
  /** `queueSize` was left to its default: it adapts to the workers' rate (engine/capacity.ts). */
  readonly adaptQueue: boolean;
  readonly workerData: D | undefined;
  readonly ack: AckMode;
  readonly stallThreshold: number;
  readonly retries: number;
  readonly maxRestarts: number;
  readonly taskTimeout: number | undefined;
  readonly gracePeriod: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly stopOnSignals: boolean;
  readonly name: string;
  readonly statsInterval: number;
  readonly onStats: ((stats: PoolStats) => void) | undefined;
  readonly metrics: Readonly<MetricsOptions> | undefined;
  readonly blockingThreshold: number | undefined;
  readonly onError: ((error: LoopPoolError) => void) | undefined;
  readonly transfer: ((task: never) => readonly Transferable[]) | undefined;
  readonly inspect: { readonly port: number; readonly host: string } | undefined;
}

/** {@link PipelineOptions} with every default filled in. */
export interface ResolvedPipelineOptions {
  readonly ordered: boolean;
  readonly bufferSize: number;
  readonly overflow: Readonly<OverflowOptions> | undefined;
  readonly settle: boolean;
}

/** The names of {@link PipelineOptions}, in the order the docs list them. */
export const pipelineOptionNames = ['ordered', 'bufferSize', 'overflow', 'settle'] as const;
/** The names of {@link LoopPoolOptions}. */
export const operatorOptionNames = [
  'size',
  'concurrency',
  'queueSize',
  ...pipelineOptionNames,
  'streamWindow',
  'streamBuffer',
  'workerData',
  'retries',
  'maxRestarts',
  'taskTimeout',
  'gracePeriod',
  'idleTimeout',
  'resourceLimits',
  'workerType',
  'transport',
  'stopOnSignals',
  'name',
  'statsInterval',
  'onStats',
  'metrics',
  'blockingThreshold',
  'onError',
  'transfer',
] as const;
/** The names of {@link PoolOptions}. */
export const poolOptionNames = [...operatorOptionNames, 'ack', 'stallThreshold', 'inspect'] as const;
/** The names of the options of `pool.put`, `pool.broadcast` and `pool.process`. */
export const callOptionNames = {
  put: ['worker'],
  run: ['worker', 'signal', 'transfer'],
  broadcast: ['key'],
  process: [...pipelineOptionNames, 'ack'],
} as const;

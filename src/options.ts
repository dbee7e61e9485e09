import { availableParallelism } from 'node:os';
import { inspect } from 'node:util';
import type { ResourceLimits, TransferListItem } from 'node:worker_threads';
import type { LoopPoolError } from './errors';
import { hotShots } from './metrics/statsd';
import { isClusterTransport, type ClusterTransport } from './transport/cluster';
import type { PoolStats } from './metrics/stats';

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

/**
 * What the pool uses of a statsd client: a hot-shots `StatsD` client is one. Declared here
 * so that looppool's types do not need hot-shots, an optional peer dependency.
 */
export interface StatsdClient {
  /** Sends a gauge. */
  gauge(stat: string, value: number): void;
  /** Adds to a counter. */
  increment(stat: string, value: number): void;
  /** Sends a timing in milliseconds, sampled at `sampleRate`. */
  timing(stat: string, value: number, sampleRate: number): void;
  /** Closes the client's socket. */
  close(callback: (error?: Error) => void): void;
}

/**
 * Options of hot-shots' `new StatsD(options)` (its `ClientOptions`: `host`, `port`,
 * `protocol`, `globalTags`, ...), passed on as they are. Typed loosely so that looppool's
 * types do not need hot-shots; write `{ host, port } satisfies ClientOptions` to have them
 * checked.
 */
export type StatsdClientOptions = object;

/** Where and how often the pool sends its figures to statsd. */
export interface MetricsOptions {
  /**
   * A statsd client, such as a hot-shots `StatsD` (the pool uses it and leaves it open), or
   * hot-shots options to create one (closed when the pool stops); creating one needs the
   * `hot-shots` package installed beside looppool.
   */
  statsd: StatsdClient | StatsdClientOptions;
  /**
   * Metric names start with it: `<prefix>.worker.<n>.elu`.
   * @default `looppool.<name>`
   */
  prefix?: string;
  /**
   * Milliseconds between two sends.
   * @default statsInterval
   */
  interval?: number;
}

/** Options of {@link loopPool} over its own workers. Every field is optional. */
export interface LoopPoolOptions<D = unknown, T = unknown> {
  /**
   * Workers: threads, or processes with `workerType: 'process'`; with `transport`, the workers
   * the hosts of the cluster serve.
   * @default os.availableParallelism() - 1, at least 1
   */
  size?: number;
  /**
   * Tasks in flight per worker. Above 1, a worker runs several tasks at once on its event
   * loop (useful for tasks that await I/O) and several tasks travel in one message.
   * @default 1
   */
  concurrency?: number;
  /**
   * Tasks handed to a worker beyond the `concurrency` it runs, waiting there so that the
   * worker starts the next one without a round trip to the main thread. 0 hands a task over
   * only when the worker can start it at once.
   * @default concurrency
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
   * it wait in the worker (`streamBuffer`). The worker hears what was taken in batches of half
   * the window. `Infinity` turns it off: a task yields as fast as it can.
   * @default 1024
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
   * handlers when the pool stops, before it is terminated.
   * @default 1000
   */
  gracePeriod?: number;
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
   * let the process exit. A second signal terminates at once.
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
  transfer?(task: T): readonly TransferListItem[];
}

/** Options of {@link createPool}: those of {@link LoopPoolOptions}, and how results are acknowledged. */
export interface PoolOptions<D = unknown, T = unknown> extends LoopPoolOptions<D, T> {
  /**
   * `'auto'`: a result is consumed once `results$` has emitted it. `'manual'`: `results$`
   * emits `Delivery` objects, and a result is consumed once its `done()` is called.
   * @default 'auto'
   */
  ack?: AckMode;
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
  readonly size: number;
  readonly concurrency: number;
  readonly queueSize: number;
  readonly streamWindow: number;
  readonly streamBuffer: number;
  readonly workerData: D | undefined;
  readonly ack: AckMode;
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
  readonly transfer: ((task: never) => readonly TransferListItem[]) | undefined;
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
export const poolOptionNames = [...operatorOptionNames, 'ack'] as const;
/** The names of the options of `pool.put`, `pool.broadcast` and `pool.process`. */
export const callOptionNames = {
  put: ['worker'],
  run: ['worker', 'signal', 'transfer'],
  broadcast: ['key'],
  process: [...pipelineOptionNames, 'ack'],
} as const;

const pipelineOptions = pipelineOptionNames;
const operatorOptions = operatorOptionNames;
const poolOptions = poolOptionNames;

/**
 * Checks the options of `loopPool(worker, ...)` (`kind` 'operator') or `createPool` ('pool')
 * and fills in defaults. Throws `TypeError` or `RangeError` at once, naming the option and
 * the value that was given.
 */
export function resolveOptions<D, T>(
  sizeOrOptions: number | PoolOptions<D, T> | undefined,
  kind: 'operator' | 'pool',
): ResolvedOptions<D> {
  const options: PoolOptions<D, T> =
    typeof sizeOrOptions === 'number'
      ? { size: sizeOrOptions }
      : checkNames(sizeOrOptions, kind === 'pool' ? poolOptions : operatorOptions);
  const concurrency = positiveInteger('concurrency', options.concurrency, 1);
  const workerType = oneOf('workerType', options.workerType, ['thread', 'process'] as const, 'thread');
  if (workerType === 'process') checkForProcesses(options);
  const transport = clusterTransport(options.transport, workerType);
  return {
    workerType,
    transport,
    size: positiveInteger('size', options.size, Math.max(1, availableParallelism() - 1)),
    concurrency,
    queueSize: count('queueSize', options.queueSize, concurrency),
    ordered: boolean('ordered', options.ordered, false),
    bufferSize: positiveInteger('bufferSize', options.bufferSize, 1024),
    overflow: overflow(options.overflow),
    settle: boolean('settle', options.settle, false),
    streamWindow: countOrInfinity('streamWindow', options.streamWindow, 1024),
    streamBuffer: countOrInfinity('streamBuffer', options.streamBuffer, 16_384),
    workerData: options.workerData,
    ack: oneOf('ack', options.ack, ['auto', 'manual'] as const, 'auto'),
    retries: count('retries', options.retries, 1),
    maxRestarts: count('maxRestarts', options.maxRestarts, 10),
    taskTimeout: options.taskTimeout === undefined ? undefined : milliseconds('taskTimeout', options.taskTimeout, 0),
    gracePeriod: milliseconds('gracePeriod', options.gracePeriod, 1_000, 0),
    resourceLimits: resourceLimits(options.resourceLimits),
    stopOnSignals: boolean('stopOnSignals', options.stopOnSignals, false),
    name: text('name', options.name, 'looppool'),
    statsInterval: milliseconds('statsInterval', options.statsInterval, 10_000),
    onStats: callback('onStats', options.onStats),
    metrics: metrics(options.metrics),
    blockingThreshold:
      options.blockingThreshold === undefined ? undefined : milliseconds('blockingThreshold', options.blockingThreshold, 0),
    onError: callback('onError', options.onError),
    transfer: callback('transfer', options.transfer),
  };
}

/** Checks the options of `loopPool(pool, options)`; the pool's options are the defaults. */
export function resolvePipelineOptions(
  options: PipelineOptions | undefined,
  defaults: ResolvedPipelineOptions,
): ResolvedPipelineOptions {
  const checked = checkNames(options, pipelineOptions, 'loopPool(pool, ...)');
  return {
    ordered: boolean('ordered', checked.ordered, defaults.ordered),
    bufferSize: positiveInteger('bufferSize', checked.bufferSize, defaults.bufferSize),
    overflow: checked.overflow === undefined ? defaults.overflow : overflow(checked.overflow),
    settle: boolean('settle', checked.settle, defaults.settle),
  };
}

/**
 * Checks that `options` is an object whose keys are all in `allowed`, and throws a
 * `TypeError` naming the first unknown key, with the nearest valid name when one is close.
 *
 * @param call the call the options were given to, for messages: `'pool.put(task, options)'`.
 *   Without it, the options of `loopPool(worker, ...)` or `createPool(...)`, which may be a size.
 */
export function checkNames<O extends object>(options: O | undefined, allowed: readonly string[], call?: string): O {
  if (options === undefined) return {} as O;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(
      call
        ? `Expected the options of ${call} to be an object, got ${show(options)}`
        : `Expected the second argument to be a size or an options object, got ${show(options)}`,
    );
  }
  for (const name of Object.keys(options)) {
    if (allowed.includes(name)) continue;
    if (call && (poolOptions as readonly string[]).includes(name)) {
      throw new TypeError(`\`${name}\` belongs to the pool: set it in createPool(...), not in ${call}`);
    }
    const near = nearest(name, allowed);
    throw new TypeError(
      `Unknown option \`${name}\`${call ? ` of ${call}` : ''}; ` +
        (near ? `did you mean \`${near}\`? Expected one of: ` : 'expected one of: ') +
        allowed.join(', '),
    );
  }
  return options;
}

/**
 * The valid name a misspelt one was most likely meant to be, or `undefined` if none is close:
 * equal but for case, `_` and `-`; one containing the other (`worker_num` for `worker`); or
 * at most 40% of the letters different (`concurency` for `concurrency`), as TypeScript's own
 * suggestions go.
 */
export function nearest(name: string, allowed: readonly string[]): string | undefined {
  const plain = (text: string): string => text.toLowerCase().replace(/[-_]/g, '');
  const wanted = plain(name);
  let best: { readonly name: string; readonly distance: number } | undefined;
  for (const candidate of allowed) {
    const other = plain(candidate);
    const contained = Math.min(wanted.length, other.length) >= 3 && (wanted.includes(other) || other.includes(wanted));
    const distance = contained ? Math.abs(wanted.length - other.length) : editDistance(wanted, other);
    if (!contained && distance > Math.max(1, Math.floor(Math.max(wanted.length, other.length) * 0.4))) continue;
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Edit distance: the fewest insertions, deletions, substitutions and swaps of two neighbours from `a` to `b`. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

function overflow(value: unknown): OverflowOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`Expected \`overflow\` to be { size, strategy }, got ${show(value)}`);
  }
  const { size, strategy } = value as Partial<OverflowOptions>;
  return {
    size: positiveInteger('overflow.size', size, NaN),
    strategy: oneOf('overflow.strategy', strategy, ['error', 'drop-newest', 'drop-oldest'] as const, undefined),
  };
}

function resourceLimits(value: unknown): ResourceLimits | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`Expected \`resourceLimits\` to be an object of worker_threads limits, got ${show(value)}`);
  }
  const limits = value as Record<string, unknown>;
  const names = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];
  for (const name of Object.keys(limits)) {
    if (!names.includes(name)) throw new TypeError(`Unknown resource limit \`${name}\`; expected one of: ${names.join(', ')}`);
    positiveNumber(`resourceLimits.${name}`, limits[name]);
  }
  return limits as ResourceLimits;
}

/** Checks the `transport` option: a transport of `looppool/nats`, not beside `workerType: 'process'`. */
function clusterTransport(value: unknown, workerType: WorkerType): ClusterTransport | undefined {
  if (value === undefined) return undefined;
  if (!isClusterTransport(value)) {
    throw new TypeError(`Expected \`transport\` to be a transport of looppool/nats, such as nats({ servers, pool }), got ${show(value)}`);
  }
  if (workerType === 'process') {
    throw new TypeError(
      `\`transport\` (${value.description}) and workerType 'process' do not go together: the workers of a cluster ` +
        'transport run on the hosts that serve it (looppool-worker --threads). Drop one of the two',
    );
  }
  return value;
}

/**
 * What a worker process cannot take: shared memory in `workerData`, and the limits of
 * `resourceLimits` that have no Node flag (only the heap limits become the child's flags).
 */
function checkForProcesses(options: PoolOptions<unknown, unknown>): void {
  const shared = findSharedMemory(options.workerData, 'workerData');
  if (shared) {
    throw new TypeError(
      `Expected \`workerData\` to hold no SharedArrayBuffer with workerType 'process', got one at ${shared}: ` +
        "a worker process shares no memory with the pool. Send an ArrayBuffer (it is copied), or use workerType 'thread'",
    );
  }
  for (const name of ['codeRangeSizeMb', 'stackSizeMb']) {
    if ((options.resourceLimits as Record<string, unknown> | undefined)?.[name] !== undefined) {
      throw new TypeError(
        `\`resourceLimits.${name}\` applies to worker threads only; with workerType 'process' set ` +
          'maxOldGenerationSizeMb or maxYoungGenerationSizeMb (they become the child\'s --max-old-space-size and --max-semi-space-size)',
      );
    }
  }
}

/** Where in `value` a SharedArrayBuffer is (a path such as `workerData.counters`), if anywhere. */
function findSharedMemory(value: unknown, path: string, seen = new Set<object>()): string | undefined {
  if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
  seen.add(value);
  if (value instanceof SharedArrayBuffer) return path;
  if (ArrayBuffer.isView(value)) return value.buffer instanceof SharedArrayBuffer ? path : undefined;
  if (value instanceof Map) {
    for (const [key, entry] of value) {
      const found = findSharedMemory(key, `${path}.keys()`, seen) ?? findSharedMemory(entry, `${path}.get(${String(key)})`, seen);
      if (found) return found;
    }
    return undefined;
  }
  if (value instanceof Set) {
    for (const entry of value) {
      const found = findSharedMemory(entry, `${path}.values()`, seen);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, entry] of Object.entries(value)) {
    const found = findSharedMemory(entry, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, seen);
    if (found) return found;
  }
  return undefined;
}

function positiveNumber(name: string, value: unknown): void {
  if (typeof value !== 'number') throw new TypeError(`Expected \`${name}\` to be a positive number, got ${show(value)}`);
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`Expected \`${name}\` to be a positive number, got ${show(value)}`);
}

function metrics(value: unknown): MetricsOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || !('statsd' in value)) {
    throw new TypeError(`Expected \`metrics\` to be { statsd, prefix?, interval? }, got ${show(value)}`);
  }
  const { statsd, prefix, interval } = value as Partial<MetricsOptions>;
  if (statsd === null || typeof statsd !== 'object') {
    throw new TypeError(`Expected \`metrics.statsd\` to be a hot-shots StatsD client or its options, got ${show(statsd)}`);
  }
  if (typeof (statsd as Partial<StatsdClient>).gauge !== 'function') hotShots(); // installed, or an error that says to install it
  return {
    statsd,
    ...(prefix === undefined ? {} : { prefix: text('metrics.prefix', prefix, '') }),
    ...(interval === undefined ? {} : { interval: milliseconds('metrics.interval', interval, 0) }),
  };
}

function text(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '') throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${show(value)}`);
  return value;
}

function callback<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new TypeError(`Expected \`${name}\` to be a function, got ${show(value)}`);
  return value as F;
}

function count(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`Expected \`${name}\` to be a non-negative integer, got ${show(value)}`);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be a non-negative integer, got ${show(value)}`);
  }
  return value;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined && !Number.isNaN(fallback)) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`Expected \`${name}\` to be a positive integer, got ${show(value)}`);
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${show(value)}`);
  }
  return value;
}

/** A positive integer, or `Infinity` for no bound. */
function countOrInfinity(name: string, value: unknown, fallback: number): number {
  if (value === Infinity) return value;
  if (typeof value === 'number' && !Number.isInteger(value)) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer or Infinity, got ${show(value)}`);
  }
  return positiveInteger(name, value, fallback);
}

/** The longest delay (ms) a Node timer keeps; a longer one fires after 1 ms. */
const maxTimer = 2 ** 31 - 1;

/** A duration for a timer: an integer from `min` (1 by default) to {@link maxTimer} milliseconds. */
function milliseconds(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const least = min === 0 ? 'a non-negative integer' : 'a positive integer';
  if (typeof value !== 'number') throw new TypeError(`Expected \`${name}\` to be ${least} of milliseconds, got ${show(value)}`);
  if (!Number.isInteger(value) || value < min || value > maxTimer) {
    throw new RangeError(
      `Expected \`${name}\` to be ${least} of milliseconds, at most ${maxTimer} (2^31 - 1, the longest timer Node keeps; longer ones fire at once), got ${show(value)}`,
    );
  }
  return value;
}

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`Expected \`${name}\` to be a boolean, got ${show(value)}`);
  return value;
}

function oneOf<V extends string>(name: string, value: unknown, allowed: readonly V[], fallback: V | undefined): V {
  if (value === undefined && fallback !== undefined) return fallback;
  if (!allowed.includes(value as V)) {
    throw new TypeError(`Expected \`${name}\` to be one of ${allowed.map((v) => `'${v}'`).join(', ')}, got ${show(value)}`);
  }
  return value as V;
}

/** Renders a rejected value the way every validation message does: `0 (number)`. */
export function show(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  const text =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'object' && value !== null
        ? inspect(value, { depth: 0, breakLength: Infinity })
        : String(value);
  return `${text} (${type})`;
}

import type { Transferable } from 'node:worker_threads';
import type { Observable } from 'rxjs';
import type { PipelineInput } from './engine/pipeline';
import type { Delivery, Settled } from './results';
import type { LoopBlockedWarning, LoopPoolError } from './errors';
import type { PoolStats } from './metrics/stats';
import type { AckMode, PipelineOptions } from './options';

/** Options of `pool.process`: a pipeline's options, and how its results are acknowledged. */
export interface ProcessOptions extends PipelineOptions {
  /**
   * `'manual'`: results come as `Delivery`s, and no new task starts while `bufferSize` of them
   * are not yet `done()`: backpressure into a slow asynchronous sink.
   * @default 'auto'
   */
  ack?: AckMode;
}

/** Where `put` sends a task. */
export interface PutOptions {
  /** Index of the only worker that may run the task (Looppool's `worker_num`). */
  worker?: number;
}

/** Options of `run`. */
export interface RunOptions {
  /** Index of the only worker that may run the task. */
  worker?: number;
  /**
   * Aborts the task: one not yet started is never sent; a running one has its `ctx.signal`
   * aborted and its output dropped. Either way the Promise rejects with `AbortError`, whose
   * `cause` is the signal's reason.
   */
  signal?: AbortSignal;
  /** What of this task to move to its worker instead of copying it; replaces the pool's `transfer` for this task. */
  transfer?: readonly Transferable[];
}

/** Options of `broadcast`. */
export interface BroadcastOptions {
  /**
   * Broadcasts that share a key replace one another in the history that a replacement worker
   * replays: a table refreshed every minute is replayed once, at its latest.
   */
  key?: string;
}

/**
 * A long-lived pool of workers (threads, processes, or workers on other hosts) fed by
 * messages (Looppool's `Pool`). Results of `put` and `broadcast` tasks, and values workers
 * send with `ctx.emit`, come out of `results$`.
 */
export interface LoopPool<T, R, Out = R> {
  /**
   * Workers running now or starting (threads, processes, or workers other hosts serve):
   * `size`, or between `min` and `max` for an elastic pool.
   */
  readonly size: number;
  /**
   * Resolves when every worker the pool starts with has run `init` (`min` of an elastic pool;
   * at once with `min: 0`); rejects with `WorkerLoadError` if one cannot.
   */
  readonly ready: Promise<void>;
  /**
   * Every result of `put` and `broadcast` tasks and every `ctx.emit` value, from every
   * worker: `R`s, or `Delivery<R>`s with `ack: 'manual'`. Hot; results produced while nobody
   * is subscribed wait in the result buffer. Completes after `stop()` or `terminate()`, once
   * the buffer is empty; errors if the pool fails (a worker cannot load).
   */
  readonly results$: Observable<Out>;
  /**
   * Every task error (of puts, broadcasts and pipelines, once retries are spent), every worker
   * crash (even one the pool recovered from), every warning, and the pool's own failures, each
   * with its context (`index`, `input`, `workerIndex`, `workerName`). Hot. `onError` gets the
   * same.
   */
  readonly errors$: Observable<LoopPoolError>;
  /**
   * Queues a task; its results come out of `results$`. With `worker`, only that worker runs
   * it; otherwise the least busy worker does.
   * @returns a Promise that resolves when the task has finished, or rejects with its error.
   *   The rejection is unhandled only if nobody observes it or `errors$` either.
   * @throws PoolClosedError after `stop()` or `terminate()`; RangeError for a bad `worker`.
   */
  put(task: T, options?: PutOptions): Promise<void>;
  /**
   * Runs one task and resolves with its result, as piscina's `run` does: nothing of it goes to
   * `results$`. A task that yields several values (an Observable, an AsyncIterable) resolves
   * with the last one; one that yields none resolves with `undefined`. It is retried, timed
   * and reported like any task.
   * @returns a Promise of the result; it rejects with the task's error, with `AbortError` when
   *   `signal` aborts, or with the pool's failure.
   * @throws PoolClosedError after `stop()` or `terminate()`; RangeError for a bad `worker`;
   *   TypeError for an unknown option.
   */
  run(task: T, options?: RunOptions): Promise<R>;
  /**
   * Runs `task` once on every worker, in the order broadcasts were made, even while workers
   * are busy. A worker that is replaced later gets the broadcasts again, in order, before
   * any new task.
   * @returns a Promise that resolves when every worker has run it.
   */
  broadcast(task: T, options?: BroadcastOptions): Promise<void>;
  /**
   * Runs every input of `input` on the pool and returns the results, like `loopPool(pool)`,
   * but pulls its inputs: an iterable or async iterable (a generator, a Node `Readable` in
   * object mode) is read only as workers have room, so memory stays flat however long it is.
   * An Observable pushes; `overflow` bounds what waits. Cold: each subscription reads the
   * input anew (a generator can be read once).
   */
  process(input: PipelineInput<T>, options: ProcessOptions & { settle: true; ack: 'manual' }): Observable<Delivery<Settled<T, R>>>;
  /** `process` with `settle: true`: one {@link Settled} record per result or failure. */
  process(input: PipelineInput<T>, options: ProcessOptions & { settle: true }): Observable<Settled<T, R>>;
  /** `process` with a `settle` known only to be a boolean and `ack: 'manual'`: deliveries of results or records. */
  process(input: PipelineInput<T>, options: ProcessOptions & { settle: boolean; ack: 'manual' }): Observable<Delivery<R | Settled<T, R>>>;
  /** `process` with a `settle` known only to be a boolean: results or records. */
  process(input: PipelineInput<T>, options: ProcessOptions & { settle: boolean }): Observable<R | Settled<T, R>>;
  /** `process` with `ack: 'manual'`: each result comes as a {@link Delivery} to `done()`. */
  process(input: PipelineInput<T>, options: ProcessOptions & { ack: 'manual' }): Observable<Delivery<R>>;
  /** `process` with the pool's ordering and settling: the results themselves. */
  process(input: PipelineInput<T>, options?: ProcessOptions): Observable<R>;
  /** The pool's figures now: counts, and each worker's own figures as last measured. */
  stats(): PoolStats;
  /**
   * With the `inspect` option, where the pool serves `/stats` and `/metrics`
   * (`http://127.0.0.1:<port>`, for `npx looppool top <url>`), once it listens; rejects if it
   * cannot listen. Without it, resolves to `undefined`.
   */
  readonly inspectUrl: Promise<string | undefined>;
  /**
   * A {@link PoolStats} every `statsInterval` ms while subscribed (the workers are measured
   * for each). Completes when the pool stops.
   */
  readonly stats$: Observable<PoolStats>;
  /** Blocked-loop warnings (`blockingThreshold`), as they are raised. Completes when the pool stops. */
  readonly warnings$: Observable<LoopBlockedWarning>;
  /**
   * Graceful stop (Looppool's PoisonPill): new tasks fail with `PoolClosedError`; every
   * queued and running task finishes and its results reach the buffer; then the workers end.
   * Pipelines stop taking input, finish what they took, then complete (or error with
   * `PoolClosedError` if their source had not completed). Idempotent.
   */
  stop(): Promise<void>;
  /** Stops at once; unfinished tasks fail with `PoolClosedError`. Idempotent. */
  terminate(): Promise<void>;
  /**
   * `stop()`, for `await using pool = createPool(...)`: the pool stops gracefully when the
   * scope that declared it ends, as piscina's does.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

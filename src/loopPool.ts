import { Observable, type OperatorFunction } from 'rxjs';
import type { LoopPoolOptions, PipelineOptions, ResolvedOptions } from './options';
import { Pool } from './pool';
import type { LoopPool } from './poolApi';
import { resolveOptions } from './resolveOptions';
import type { Settled } from './results';
import type { PortFactory } from './transport/transport';
import {
  resolveWorkerSource,
  type UntypedWorkerModule,
  type WorkerDataOf,
  type WorkerModule,
  type WorkerResult,
  type WorkerSource,
  type WorkerTask,
} from './workerSource';

/**
 * Runs each value of the source as a task on a pool of workers and merges every result into
 * one Observable.
 *
 * Each subscription starts a pool of its own, `size` workers (threads by default, each with
 * its own event loop; processes with `workerType: 'process'`; workers on other hosts with
 * `transport`), and stops it when it ends: on completion, on error, or on unsubscribe. A
 * worker runs up to `concurrency` tasks at once. A task may return a value, a Promise, an
 * Observable or an AsyncIterable; each value it yields is one result. Values a worker sends
 * with `ctx.emit` are merged into the output too.
 *
 * By default results come out as they finish (like `mergeMap`); with `ordered: true` they
 * come out in input order (like `concatMap`, but in parallel). The output completes once the
 * source has completed and every task has finished. A task that fails errors the output
 * with a {@link TaskError}; the other tasks are cancelled and the workers stopped.
 *
 * ```
 * source:    a----b-c------|
 * tasks:     a→A takes 4 frames, b→B 4, c→C 1 (size 2)
 * unordered: ----A---CB----|
 * ordered:   ----A----(BC)-|
 * ```
 *
 * Type it by the worker module, `loopPool<typeof import('./hash.worker')>(...)`: tasks, results
 * and `workerData` then come from the worker's `defineWorker`; or by its task and result
 * types, `loopPool<Row, string>(...)`; an `inlineWorker` types it by itself.
 *
 * @param worker the worker module: an absolute path, a path relative to the current
 *   directory (`process.cwd()`, not the calling file: resolve it with
 *   `new URL('./x.worker.js', import.meta.url)` or `join(__dirname, 'x.worker.js')`), or a
 *   `file:` URL. It must call `defineWorker` from `looppool/worker`. In tests,
 *   `inlineWorker(definition)` from `looppool/testing` runs it in this thread instead.
 * @param options the number of workers (`size`), or {@link LoopPoolOptions}. With
 *   `settle: true` the output is {@link Settled} records; with a `settle` that is only known
 *   to be a `boolean`, it is either.
 * @throws TypeError or RangeError at once for an invalid argument.
 *
 * @example
 * ```ts
 * const hashes$ = from(records).pipe(loopPool<typeof import('./hash.worker')>(join(__dirname, 'hash.worker.js'), 4));
 * ```
 */
export function loopPool<M extends WorkerModule = UntypedWorkerModule>(
  worker: string | URL,
  options: LoopPoolOptions<WorkerDataOf<M>, WorkerTask<M>> & { settle: true },
): OperatorFunction<WorkerTask<M>, Settled<WorkerTask<M>, WorkerResult<M>>>;
export function loopPool<M extends WorkerModule = UntypedWorkerModule>(
  worker: string | URL,
  options: LoopPoolOptions<WorkerDataOf<M>, WorkerTask<M>> & { settle: boolean },
): OperatorFunction<WorkerTask<M>, WorkerResult<M> | Settled<WorkerTask<M>, WorkerResult<M>>>;
export function loopPool<M extends WorkerModule = UntypedWorkerModule>(
  worker: string | URL,
  options?: number | LoopPoolOptions<WorkerDataOf<M>, WorkerTask<M>>,
): OperatorFunction<WorkerTask<M>, WorkerResult<M>>;
/**
 * Runs each value of the source as a task on an existing pool, without owning it: ending the
 * subscription cancels this pipeline's tasks but leaves the pool running. Pipelines sharing a
 * pool take turns for its workers, and each sees only its own tasks' results.
 *
 * @param pool a pool from {@link createPool}.
 * @param options the pipeline's ordering; the pool's options are the defaults.
 */
export function loopPool<T, R>(
  pool: LoopPool<T, R, unknown>,
  options: PipelineOptions & { settle: true },
): OperatorFunction<T, Settled<T, R>>;
export function loopPool<T, R>(
  pool: LoopPool<T, R, unknown>,
  options: PipelineOptions & { settle: boolean },
): OperatorFunction<T, R | Settled<T, R>>;
export function loopPool<T, R>(pool: LoopPool<T, R, unknown>, options?: PipelineOptions): OperatorFunction<T, R>;
export function loopPool<T, R>(
  worker: WorkerSource<T, R>,
  options: LoopPoolOptions<unknown, T> & { settle: true },
): OperatorFunction<T, Settled<T, R>>;
export function loopPool<T, R>(
  worker: WorkerSource<T, R>,
  options: LoopPoolOptions<unknown, T> & { settle: boolean },
): OperatorFunction<T, R | Settled<T, R>>;
// Last, so that when no overload matches, TypeScript reports this one's error: the form most
// calls take, where a misspelt option gets "Did you mean ...?".
export function loopPool<T, R>(worker: WorkerSource<T, R>, options?: number | LoopPoolOptions<unknown, T>): OperatorFunction<T, R>;
export function loopPool<T, R>(
  worker: WorkerSource<T, R> | LoopPool<T, R, unknown>,
  sizeOrOptions?: number | LoopPoolOptions<unknown, T> | PipelineOptions,
): OperatorFunction<T, R | Settled<T, R>> {
  if (worker instanceof Pool) return (worker as Pool<T, R>).pipeline(sizeOrOptions as PipelineOptions | undefined);
  const { transport, name } = resolveWorkerSource<T, R>(worker);
  const options = resolveOptions(sizeOrOptions as number | LoopPoolOptions<unknown, T> | undefined, 'operator');
  return poolPerSubscription(() => transport(options), options, name);
}

/**
 * @internal The operator over a pool of its own: each subscription builds the {@link Pool}
 * that `createPool` builds, runs the source on it as its one pipeline, and terminates it when
 * the subscription ends (complete, error or unsubscribe). Values workers send with `ctx.emit`
 * join the output. Stats, warnings, signals and task timing are the pool's, by the pool's rules.
 */
export function poolPerSubscription<T, R>(
  transport: () => PortFactory<T, R>,
  options: ResolvedOptions,
  workerName: string,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const pool = new Pool<T, R>(transport(), options, workerName, (value) => subscriber.next(value));
      pool.pipeline(undefined)(source).subscribe(subscriber);
      return () => void pool.terminate(); // after the pipeline's own teardown, which cancels its tasks
    });
}

import type { OperatorFunction } from 'rxjs';
import { ownedPool } from './engine/ownedPool';
import { resolveOptions, type LoopPoolOptions } from './options';
import { threadsTransport } from './transport/threads';
import { resolveWorkerModule } from './workerModule';

/**
 * Runs each value of the source as a task on a pool of worker threads and merges every
 * result into one Observable.
 *
 * Each subscription starts its own `size` workers (threads.js threads, each with its own
 * event loop) and stops them when it ends: on completion, on error, or on unsubscribe. A
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
 * @param worker the worker module: an absolute path, a path relative to the current
 *   directory, or a `file:` URL. It must call `defineWorker` from `looppool/worker`.
 * @param sizeOrOptions the number of workers, or {@link LoopPoolOptions}.
 * @throws TypeError or RangeError at once for an invalid argument.
 *
 * @example
 * ```ts
 * const hashes$ = from(records).pipe(loopPool<Row, string>('./hash.worker.js', 4));
 * ```
 */
export function loopPool<T, R>(worker: string | URL, sizeOrOptions?: number | LoopPoolOptions): OperatorFunction<T, R> {
  const modulePath = resolveWorkerModule(worker);
  const options = resolveOptions(sizeOrOptions);
  return ownedPool(() => threadsTransport<T, R>(modulePath, options), options, modulePath);
}

import type { Delivery } from './results';
import type { PoolOptions } from './options';
import { resolveOptions } from './resolveOptions';
import type { LoopPool } from './poolApi';
import { Pool } from './pool';
import {
  resolveWorkerSource,
  type UntypedWorkerModule,
  type WorkerDataOf,
  type WorkerModule,
  type WorkerResult,
  type WorkerSource,
  type WorkerTask,
} from './workerSource';

export type { PipelineInput } from './engine/pipeline';
export type { Delivery, Settled } from './results';
export type { LoopDelay, PoolStats, WorkerStats } from './metrics/stats';
export type { InspectStats } from './metrics/inspect';
export type { ErrorSummary } from './metrics/recentErrors';

export type { BroadcastOptions, LoopPool, ProcessOptions, PutOptions, RunOptions } from './poolApi';

/**
 * Starts a long-lived pool of `size` workers, at once: threads by default, processes with
 * `workerType: 'process'`, workers on other hosts with `transport`.
 *
 * ```ts
 * const pool = createPool<string, [string, string]>('./fetch.worker.js', 4);
 * pool.results$.subscribe(([url, server]) => console.log(url, server));
 * urls.forEach((url) => pool.put(url));
 * await pool.stop();
 * ```
 *
 * Type it by the worker module, `createPool<typeof import('./fetch.worker')>(...)`, and
 * `put`, `results$` and the `workerData` option follow the worker's `defineWorker`; or by its
 * task and result types, `createPool<string, [string, string]>(...)`.
 *
 * `await using pool = createPool(...)` stops the pool gracefully when the scope ends.
 *
 * @param worker the worker module, as for `loopPool`, or an `inlineWorker` in tests.
 * @param options the number of workers (`size`), or {@link PoolOptions}.
 * @throws TypeError or RangeError at once for an invalid argument.
 */
export function createPool<M extends WorkerModule = UntypedWorkerModule>(
  worker: string | URL,
  options: PoolOptions<WorkerDataOf<M>, WorkerTask<M>> & { ack: 'manual' },
): LoopPool<WorkerTask<M>, WorkerResult<M>, Delivery<WorkerResult<M>>>;
export function createPool<M extends WorkerModule = UntypedWorkerModule>(
  worker: string | URL,
  options?: number | PoolOptions<WorkerDataOf<M>, WorkerTask<M>>,
): LoopPool<WorkerTask<M>, WorkerResult<M>>;
export function createPool<T, R>(
  worker: WorkerSource<T, R>,
  options: PoolOptions<unknown, T> & { ack: 'manual' },
): LoopPool<T, R, Delivery<R>>;
// Last, so that when no overload matches, TypeScript reports this one's error ("Did you mean ...?").
export function createPool<T, R>(worker: WorkerSource<T, R>, options?: number | PoolOptions<unknown, T>): LoopPool<T, R>;
export function createPool<T, R>(
  worker: WorkerSource<T, R>,
  sizeOrOptions?: number | PoolOptions<unknown, T>,
): LoopPool<T, R, R | Delivery<R>> {
  const { transport, name } = resolveWorkerSource<T, R>(worker);
  const options = resolveOptions(sizeOrOptions, 'pool');
  return new Pool<T, R>(transport(options), options, name);
}

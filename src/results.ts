import type { LoopPoolError } from './errors';

/**
 * A result or a failure of one input, in settle mode (`settle: true`), as
 * `Promise.allSettled` reports them: an ETL run keeps every record instead of stopping at the
 * first failure.
 */
export type Settled<T, R> =
  | {
      /** The task yielded a result. */
      readonly status: 'fulfilled';
      /** The result (a task that yields several gives one record each). */
      readonly value: R;
      /** The input the task was given. */
      readonly input: T;
      /** Position of the input in the source, from 0. */
      readonly index: number;
    }
  | {
      /** The task failed, once its retries were spent. */
      readonly status: 'rejected';
      /** Why: a `TaskError`, `TaskTimeoutError`, `WorkerCrashError` or `SerializationError`. */
      readonly reason: LoopPoolError;
      /** The input the task was given. */
      readonly input: T;
      /** Position of the input in the source, from 0. */
      readonly index: number;
    };

/** A result together with the means to say it has been consumed (`ack: 'manual'`). */
export interface Delivery<R> {
  /** The result. */
  readonly value: R;
  /** Index of the worker that produced it. */
  readonly worker: number;
  /** Marks the result as consumed, freeing its place in the buffer. Idempotent. */
  done(): void;
}

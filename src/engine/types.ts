import type { LoopPoolError } from '../errors';
import type { OverflowOptions } from '../options';

/** Where a job's results and its end go: the operator's subscriber, or the pool's result buffer. */
export interface JobSink<R> {
  next(value: R, workerIndex: number): void;
  error(error: unknown): void;
  complete(): void;
  readonly closed: boolean;
}

/** How a job orders its results and what one failure means. */
export interface JobOptions {
  readonly ordered: boolean;
  readonly bufferSize: number;
  /**
   * `true` (a pipeline): the first failure fails the job and cancels the rest.
   * `false` (the pool's puts): a failure ends only its task, through `settled`.
   */
  readonly failFast: boolean;
  /** Every result and failure becomes a record (`{ status, value | reason, input, index }`); nothing fails the job. */
  readonly settle?: boolean;
  /** A further condition for starting any task, such as room in the pool's result buffer. */
  readonly mayStart?: () => boolean;
  /** A bound on the inputs that wait, for inputs that are pushed; unbounded without it. */
  readonly overflow?: Readonly<OverflowOptions> | undefined;
}

/** An input on its way through the pool. */
export interface Task<T> {
  /** Position of the input in its job, from 0. */
  readonly index: number;
  readonly input: T;
  /** The only worker that may run it (a targeted put, a broadcast). */
  readonly target?: number | undefined;
  /** Called once when the task has ended: with no argument when it completed. */
  readonly settled?: ((error?: LoopPoolError) => void) | undefined;
  /**
   * A broadcast: a barrier on its worker. It is handed over once the worker has finished
   * everything handed before it, and nothing else is handed over until it has finished.
   */
  readonly sequential?: boolean | undefined;
  /** Runs that ended with the worker crashing under the task; at most `retries`. */
  attempts: number;
}

/** Where an input goes and who hears of its end. */
export interface PushOptions {
  /** The only worker that may run it. */
  readonly target?: number | undefined;
  readonly settled?: Task<unknown>['settled'];
  readonly sequential?: boolean | undefined;
  /** Put it before everything else waiting for its worker (a replayed broadcast). */
  readonly first?: boolean | undefined;
}

/**
 * Where a pulled job's inputs come from: asked for more whenever its pending inputs run low,
 * it pushes them into the job (now, or when they arrive) and ends it when it has no more.
 */
export interface Feed {
  /** Called when the job could use another input. */
  demand(): void;
  /** The job has ended: stop reading. */
  close(): void;
}

/** A result or a failure of one input, in settle mode (as `Promise.allSettled` reports). */
export type Settled<T, R> =
  | { readonly status: 'fulfilled'; readonly value: R; readonly input: T; readonly index: number }
  | { readonly status: 'rejected'; readonly reason: LoopPoolError; readonly input: T; readonly index: number };

import type { Transferable } from 'node:worker_threads';
import type { LoopPoolError } from '../errors';
import type { OverflowOptions } from '../options';
import type { Receipt } from './credit';
import type { TaskTrace } from '../otel/tracing';

/** Where a job's results and its end go: the operator's subscriber, or the pool's result buffer. */
export interface JobSink<R> {
  /** A result; `receipt.taken()` once the consumer has it (see `engine/credit.ts`). */
  next(value: R, workerIndex: number, receipt: Receipt): void;
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
  /** A replayed broadcast: its results are dropped, since the consumer saw them from the first run. */
  readonly quiet?: boolean | undefined;
  /** What of the input to move to the worker, instead of what the pool's `transfer` says. */
  readonly transfer?: readonly Transferable[] | undefined;
  /** Runs that ended with the worker crashing under the task and counted as an attempt; at most `retries`. */
  attempts: number;
  /** Its `looppool.task` span, when the pool traces (`@opentelemetry/api` is installed). */
  readonly trace?: TaskTrace | undefined;
}

/** Where an input goes and who hears of its end. */
export interface PushOptions {
  /** The only worker that may run it. */
  readonly target?: number | undefined;
  readonly settled?: Task<unknown>['settled'];
  readonly sequential?: boolean | undefined;
  /** Put it before everything else waiting for its worker (a replayed broadcast). */
  readonly first?: boolean | undefined;
  /** Drop its results (a replayed broadcast). */
  readonly quiet?: boolean | undefined;
  /** What of the input to move to the worker (`pool.run`'s `transfer`). */
  readonly transfer?: readonly Transferable[] | undefined;
}

/**
 * What a worker's slot tells the job a task belongs to. The slot owns the run while the
 * worker has it; these are the run's ends, each called once, and its results before them.
 */
export interface RunOwner<T, R> {
  /** A result of `task`; `receipt.taken()` once its consumer has it. */
  result(task: Task<T>, value: R, workerIndex: number, receipt: Receipt): void;
  /** `task` completed on worker `workerIndex`. */
  completed(task: Task<T>): void;
  /** `task` failed for good on worker `workerIndex` with `error` (already reported and counted). */
  failed(task: Task<T>, error: LoopPoolError, workerIndex: number): void;
  /**
   * `task`'s worker ended under it and it goes again. A task any worker may run comes back
   * to the job; a task for one worker only has been queued on that worker again, first.
   */
  retry(task: Task<T>): void;
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

/** A task handed to a worker, as its job holds it. */
export interface HandedTask {
  /** The job no longer wants it: the worker aborts its `ctx.signal` and nothing more is reported. */
  cancel(): void;
}

/** A worker that can take a task, as a job sees it. */
export interface TaskTaker<T, R> {
  /** Hands `task` over; its ends go to `owner` (possibly before this returns). */
  handOver(owner: RunOwner<T, R>, task: Task<T>): HandedTask;
}

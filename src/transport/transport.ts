import type { Observable } from 'rxjs';
import type { CrashReason } from '../errors';
import type { WorkerFigures } from './protocol';

/**
 * Why a task ended without completing. Ports report failures in these terms; the engine,
 * which knows the input and its index, turns them into the public error classes.
 */
export type TaskFailure =
  /** The handler threw, its Promise rejected or its stream errored. */
  | { readonly kind: 'threw'; readonly error: Error }
  /** The task or one of its results could not be structured-cloned. */
  | { readonly kind: 'unserializable'; readonly subject: 'task' | 'result'; readonly reason: string }
  /**
   * The worker ended while the task was handed to it. When it was killed for not answering,
   * `stuck` says whether this task's synchronous code was what blocked its event loop
   * (`undefined`: not known). `unseenReady` is true when the worker had become ready, and so
   * may have run the task, but died before the port could say so.
   */
  | {
      readonly kind: 'crashed';
      readonly exitCode: number;
      readonly reason: CrashReason;
      readonly error?: Error | undefined;
      readonly stuck?: boolean | undefined;
      readonly unseenReady?: boolean | undefined;
    }
  /** The task ran past `taskTimeout` (reported by the engine, not by ports). */
  | { readonly kind: 'timeout'; readonly timeout: number };

/** Something wrong with a worker as a whole, tied to no task. */
export type WorkerFailure =
  /** The module could not be loaded, never called `defineWorker`, or `init` failed (tasks handed to it fail as crashed). */
  | { readonly kind: 'load'; readonly reason: string; readonly error?: Error | undefined }
  /** The worker ended after it was ready (its tasks have been failed with the same). */
  | { readonly kind: 'crashed'; readonly exitCode: number; readonly reason: CrashReason; readonly error?: Error | undefined }
  /** A value sent with `ctx.emit`, or `workerData`, could not be structured-cloned. */
  | { readonly kind: 'unserializable'; readonly subject: 'emitted value' | 'workerData'; readonly reason: string };

/** How a port tells the engine about things that belong to no task. */
export interface PortListener<R> {
  /** A value the worker sent with `ctx.emit`. */
  emitted(value: R): void;
  /** The worker failed; it may call this before the port's constructor returns. */
  failed(failure: WorkerFailure): void;
}

/**
 * What the engine needs from one worker, wherever it runs. The engine never sees a thread:
 * the threads.js transport and the in-process transport both implement this.
 */
export interface WorkerPort<T, R> {
  readonly index: number;
  /** Resolves once the worker has run `init`; rejects with a {@link WorkerFailure} if it cannot. */
  readonly ready: Promise<void>;
  /** True once `ready` has resolved (known at once, for callers that cannot wait a microtask). */
  readonly isReady: boolean;
  /**
   * Runs one task. Subscribing sends it; each value is one result; completion ends the task.
   * Errors are {@link TaskFailure}s. Unsubscribing before the end cancels it in the worker.
   */
  run(task: T, key?: unknown): Observable<R>;
  /**
   * Calls `answered` once the worker has read everything sent to it so far: proof that its
   * event loop turns. A worker stuck in a long synchronous task never answers.
   */
  ping(answered: () => void): void;
  /** Ends an unresponsive worker now: its tasks fail as crashed, and `failed` is called. */
  kill(): void;
  /** Measures the worker: its event-loop utilization since the previous sample, and its own figures if it answers. */
  sample(): Promise<WorkerSample>;
  /**
   * How long the worker's event loop has not turned (from its heartbeat, when
   * `blockingThreshold` is set), and the `key` of the task whose code runs now, if any.
   */
  blocked(): { readonly ms: number; readonly key: unknown } | undefined;
  /** Stops the worker; running tasks are dropped without notification. */
  terminate(): Promise<void>;
}

/** A measurement of one worker. */
export interface WorkerSample {
  /** Event-loop utilization (0 to 1) since the previous sample; undefined where unknown (inline). */
  readonly elu: number | undefined;
  /** What the worker reported of itself; undefined if it did not answer in time. */
  readonly figures: WorkerFigures | undefined;
}

/** Starts worker number `index` and returns its port. */
export type Transport<T, R> = (index: number, listener: PortListener<R>) => WorkerPort<T, R>;

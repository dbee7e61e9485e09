import type { Observable } from 'rxjs';

/**
 * Why a task ended without completing. Ports report failures in these terms; the engine,
 * which knows the input and its index, turns them into the public error classes.
 */
export type TaskFailure =
  /** The handler threw, its Promise rejected or its stream errored. */
  | { readonly kind: 'threw'; readonly error: Error }
  /** The task or one of its results could not be structured-cloned. */
  | { readonly kind: 'unserializable'; readonly subject: 'task' | 'result'; readonly reason: string }
  /** The worker exited while the task was running. */
  | { readonly kind: 'crashed'; readonly exitCode: number; readonly error?: Error };

/** Something wrong with a worker as a whole, tied to no task. */
export type WorkerFailure =
  /** The module could not be loaded, never called `defineWorker`, or `init` failed. */
  | { readonly kind: 'load'; readonly reason: string; readonly error?: Error }
  /** The worker exited after it was ready. */
  | { readonly kind: 'crashed'; readonly exitCode: number; readonly error?: Error }
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
  /**
   * Runs one task. Subscribing sends it; each value is one result; completion ends the task.
   * Errors are {@link TaskFailure}s. Unsubscribing before the end cancels it in the worker.
   */
  run(task: T): Observable<R>;
  /** Stops the worker at once; running tasks are dropped without notification. */
  terminate(): Promise<void>;
}

/** Starts worker number `index` and returns its port. */
export type Transport<T, R> = (index: number, listener: PortListener<R>) => WorkerPort<T, R>;

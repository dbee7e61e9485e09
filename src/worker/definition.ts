import type { Transferable } from 'node:worker_threads';
import type { InteropObservable, Observable, Subscribable } from 'rxjs';

/**
 * What a worker's code gets besides its task.
 *
 * @typeParam D the type of `workerData`: annotate the context of `init` or `process` as
 *   `WorkerContext<MyData>` and `ctx.workerData` is a `MyData`, and `createPool` checks its
 *   `workerData` option against it.
 * @typeParam R the values `emit` sends. `never` unless given, so that a context annotated
 *   only with its data (`WorkerContext<MyData>`) does not widen the worker's result type:
 *   to emit, write `WorkerContext<MyData, Price>`; `Price` then joins the results.
 */
export interface WorkerContext<D = unknown, R = never> {
  /** This worker's position in the pool, 0 to size - 1. A replacement keeps its index. */
  readonly index: number;
  /** The pool's `workerData` option, structured-cloned once per worker. */
  readonly workerData: D;
  /**
   * Sends a result tied to no task, for example from a subscription opened in `init`.
   * The value must be structured-clonable.
   */
  emit(value: R): void;
  /**
   * In `process`: aborted when the task is cancelled (its subscriber unsubscribed).
   * In `init`: aborted when the worker stops.
   */
  readonly signal: AbortSignal;
}

/**
 * What a task handler may return. Each value is one result; the task ends when the output
 * completes. A plain value, arrays and sync iterables included, is a single result.
 */
export type TaskOutput<R> = R | PromiseLike<R> | Subscribable<R> | InteropObservable<R> | AsyncIterable<R>;

/** The type of the results a task output yields: `R` for a value, a Promise, an Observable or an AsyncIterable of `R`. */
export type ResultOf<O> =
  O extends PromiseLike<infer V>
    ? V
    : O extends Observable<infer V>
      ? V
      : O extends Subscribable<infer V>
        ? V
        : O extends InteropObservable<infer V>
          ? V
          : O extends AsyncIterable<infer V>
            ? V
            : O;

/**
 * What `defineWorker` accepts, typed by what `process` returns (`O`), so that the result type
 * is inferred from the handler: `async (x: number, ctx) => 'a'` defines a worker of strings.
 *
 * The context's type does not depend on `O`: TypeScript fixes every type that an unannotated
 * parameter depends on before it reads the function's body, so a context typed by the result
 * would fix the result to `unknown` before the return type is seen. `E`, the type of emitted
 * values, is inferred from an annotated context (`WorkerContext<D, E>`) and is `never`
 * otherwise; with explicit type arguments (`defineWorker<string, string>`) it is the result.
 *
 * @typeParam T the task.
 * @typeParam O what `process` returns.
 * @typeParam D `workerData`.
 * @typeParam E what `ctx.emit` sends.
 */
export type WorkerDefinitionInput<T, O, D, E = ResultOf<O>> =
  | ((task: T, ctx: WorkerContext<D, E>) => O)
  | {
      /** Runs once in each new worker before its first task; may return a Promise. */
      init?(ctx: WorkerContext<D, E>): void | PromiseLike<void>;
      /** Runs one task. */
      process(task: T, ctx: WorkerContext<D, E>): O;
      /** What of a result to transfer to the main thread instead of copying it. */
      transfer?(result: ResultOf<O> | E): readonly Transferable[];
    };

/**
 * The type `defineWorker` gives `ctx.emit` when no type argument and no annotation say: the
 * result type when it is known (explicit type arguments), otherwise `never`.
 */
export type DefaultEmitted<O> = unknown extends O ? never : ResultOf<O>;

/** A task handler: the whole worker when it needs no `init`. */
export type ProcessFunction<T, R, D = unknown> = (task: T, ctx: WorkerContext<D, R>) => TaskOutput<R>;

/** A worker: an optional `init`, run once per thread, and the task handler. */
export interface WorkerDefinition<T, R, D = unknown> {
  /** Runs once in each new worker before its first task; may return a Promise. */
  init?(ctx: WorkerContext<D, R>): void | PromiseLike<void>;
  /** Runs one task. */
  process(task: T, ctx: WorkerContext<D, R>): TaskOutput<R>;
  /**
   * What of a result to transfer to the main thread instead of copying it (an `ArrayBuffer`,
   * a `MessagePort`): it is moved, and no longer usable in the worker.
   */
  transfer?(result: R): readonly Transferable[];
}

/** Accepts `{ init?, process }` or a bare process function; throws `TypeError` for anything else. */
export function normalizeDefinition<T, R, D>(
  definition: WorkerDefinition<T, R, D> | ProcessFunction<T, R, D>,
): WorkerDefinition<T, R, D> {
  if (typeof definition === 'function') return { process: definition };
  if (definition === null || typeof definition !== 'object' || typeof definition.process !== 'function') {
    throw new TypeError(
      `Expected a worker definition \`{ init?, process }\` or a process function, got ${describe(definition)}`,
    );
  }
  for (const name of ['init', 'transfer'] as const) {
    if (definition[name] !== undefined && typeof definition[name] !== 'function') {
      throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(definition[name])}`);
    }
  }
  return definition;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object with keys [${Object.keys(value).join(', ')}]`;
  return `${String(value)} (${typeof value})`;
}

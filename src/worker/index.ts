/**
 * The worker's side: {@link defineWorker}, called once at the top level of a worker module,
 * and the types of the context every task gets.
 *
 * @module looppool/worker
 */
import {
  normalizeDefinition,
  type DefaultEmitted,
  type ResultOf,
  type WorkerDefinition,
  type WorkerDefinitionInput,
} from './definition';
import { register } from './registry';

export type {
  DefaultEmitted,
  ProcessFunction,
  ResultOf,
  TaskOutput,
  WorkerContext,
  WorkerDefinition,
  WorkerDefinitionInput,
} from './definition';

/**
 * Declares the code of a worker. Call it once, at the top level of the worker module:
 *
 * ```ts
 * import { defineWorker, type WorkerContext } from 'looppool/worker';
 *
 * export default defineWorker({
 *   init(ctx: WorkerContext<{ salt: string }>) { table = buildTable(ctx.workerData.salt) },
 *   process: (record: Row, ctx) => hash(record, table),
 * });
 * ```
 *
 * The task type comes from the annotation of `process`'s first parameter, the result type
 * from what it returns, whether or not `ctx` is annotated, and the `workerData` type from an
 * annotated context (`WorkerContext<D>`). The main side reads them all from the module's
 * type: `loopPool<typeof import('./hash.worker')>(...)`.
 *
 * `process` may return a value, a Promise, an Observable (RxJS or any `Symbol.observable`
 * implementation) or an AsyncIterable; each value it yields is one result. Inside a looppool
 * thread the definition is registered for that thread; anywhere else (a test importing the
 * module) `defineWorker` only validates and returns it, so the same module can run inline.
 *
 * @typeParam T the task, from the annotation of `process`'s first parameter.
 * @typeParam O what `process` returns; each value it yields is one result.
 * @typeParam D `workerData`, from an annotated context.
 * @typeParam E what `ctx.emit` sends, from an annotated context; `never` otherwise.
 * @returns the definition, normalized to `{ init?, process }`.
 */
export function defineWorker<T, O, D = unknown, E = DefaultEmitted<O>>(
  definition: WorkerDefinitionInput<T, O, D, E>,
): WorkerDefinition<T, ResultOf<O> | E, D> {
  const normalized = normalizeDefinition(definition as WorkerDefinition<T, ResultOf<O> | E, D>);
  register(normalized as WorkerDefinition<unknown, unknown, unknown>, defineWorker);
  return normalized;
}

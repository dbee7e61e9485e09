import { normalizeDefinition, type ResultOf, type WorkerDefinition, type WorkerDefinitionInput } from './definition';
import { register } from './registry';

export type {
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
 * import { defineWorker } from 'looppool/worker';
 *
 * export default defineWorker({
 *   init(ctx) { table = buildTable(ctx.workerData) },
 *   process: (record: Row) => hash(record, table),
 * });
 * ```
 *
 * `process` may return a value, a Promise, an Observable (RxJS or any `Symbol.observable`
 * implementation) or an AsyncIterable; each value it yields is one result. Inside a looppool
 * thread the definition is registered for that thread; anywhere else (a test importing the
 * module) `defineWorker` only validates and returns it, so the same module can run inline.
 *
 * @returns the definition, normalized to `{ init?, process }`.
 */
export function defineWorker<T, O, D = unknown>(
  definition: WorkerDefinitionInput<T, O, D>,
): WorkerDefinition<T, ResultOf<O>, D> {
  const normalized = normalizeDefinition(definition as WorkerDefinition<T, ResultOf<O>, D>);
  register(normalized as WorkerDefinition<unknown, unknown, unknown>);
  return normalized;
}

import {
  normalizeDefinition,
  type DefaultEmitted,
  type ResultOf,
  type WorkerDefinition,
  type WorkerDefinitionInput,
} from '../worker/definition';

/**
 * A worker that runs in the calling thread: what {@link inlineWorker} returns, and what
 * `loopPool` and `createPool` accept in place of a module path.
 */
export class InlineWorker<T, R, D = unknown> {
  /** @internal */
  constructor(
    /** The definition the worker runs, normalized to `{ init?, process }`. */
    readonly definition: WorkerDefinition<T, R, D>,
  ) {}
}

/**
 * Runs a worker definition in the calling thread, through the same engine as threads: pass
 * the result to `loopPool` or `createPool` instead of a module path. Tasks that return cold
 * observables then run in the virtual time of an RxJS `TestScheduler`, so a pipeline that
 * contains `loopPool` can be marble-tested.
 *
 * ```ts
 * import hashWorker from './hash.worker'; // `export default defineWorker(...)`
 * const output$ = source$.pipe(loopPool(inlineWorker(hashWorker), { size: 2 }));
 * ```
 *
 * Values are passed by reference, not structured-cloned; everything else (ordering,
 * concurrency, buffers, errors) behaves as with threads.
 *
 * @param definition what `defineWorker` takes, or what it returned.
 */
export function inlineWorker<T, R, D = unknown>(definition: WorkerDefinition<T, R, D>): InlineWorker<T, R, D>;
export function inlineWorker<T, O, D = unknown, E = DefaultEmitted<O>>(
  definition: WorkerDefinitionInput<T, O, D, E>,
): InlineWorker<T, ResultOf<O> | E, D>;
export function inlineWorker<T, R, D>(
  definition: WorkerDefinition<T, R, D> | WorkerDefinitionInput<T, R, D, R>,
): InlineWorker<T, R, D> {
  return new InlineWorker(normalizeDefinition(definition as WorkerDefinition<T, R, D>));
}

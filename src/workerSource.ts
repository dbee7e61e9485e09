import { InlineWorker } from './testing/inlineWorker';
import type { ResolvedOptions } from './options';
import { inlineTransport } from './worker/inline';
import { processesTransport } from './transport/processes';
import { threadsTransport } from './transport/threads';
import type { PortFactory } from './transport/transport';
import type { WorkerDefinition } from './worker/definition';
import { resolveWorkerModule } from './workerModule';

/**
 * What `loopPool` and `createPool` accept as the worker: a module (its path or `file:` URL),
 * or an inline definition.
 */
export type WorkerSource<T, R> = string | URL | InlineWorker<T, R, unknown>;

/**
 * The type of a worker module, `typeof import('./square.worker')` (whose default export is
 * what `defineWorker` returned), or the type of a definition itself. Given as the one type
 * argument of `loopPool` or `createPool`, it types the task, the result and `workerData`.
 */
export type WorkerModule =
  | {
      /** What the module's `export default defineWorker(...)` exported. */
      readonly default: WorkerDefinition<never, unknown, never>;
    }
  | WorkerDefinition<never, unknown, never>;

/** A module whose types nobody gave: tasks and results are `unknown`. */
export type UntypedWorkerModule = WorkerDefinition<unknown, unknown, unknown>;

/** The definition a {@link WorkerModule} stands for: its default export, or the definition itself. */
export type WorkerDefinitionOf<M> = M extends {
  /** The module's default export. */
  readonly default: infer W;
}
  ? W
  : M;

/** The task type of a {@link WorkerModule}. */
export type WorkerTask<M> = WorkerDefinitionOf<M> extends WorkerDefinition<infer T, infer _R, infer _D> ? T : never;

/** The result type of a {@link WorkerModule}: what its tasks yield and what it emits. */
export type WorkerResult<M> = WorkerDefinitionOf<M> extends WorkerDefinition<infer _T, infer R, infer _D> ? R : never;

/** The `workerData` type of a {@link WorkerModule}, `unknown` unless its context was annotated. */
export type WorkerDataOf<M> = WorkerDefinitionOf<M> extends WorkerDefinition<infer _T, infer _R, infer D> ? D : never;

/** How to start the workers of a pool, and how errors name them. */
export interface ResolvedWorker<T, R> {
  readonly transport: (options: ResolvedOptions) => PortFactory<T, R>;
  readonly name: string;
}

/**
 * Checks the `worker` argument at once and picks the transport: threads or processes for a
 * module (`workerType`), or the hosts of a cluster (`transport`); in-process for an inline worker.
 */
export function resolveWorkerSource<T, R>(worker: unknown): ResolvedWorker<T, R> {
  if (worker instanceof InlineWorker) {
    const definition = (worker as InlineWorker<T, R, unknown>).definition;
    return {
      transport: ({ workerData, concurrency, transport }) => {
        if (transport) {
          throw new TypeError(
            `An inline worker runs in this thread and cannot be served by ${transport.description}: ` +
              'give the worker module\'s path, and serve that module with looppool-worker',
          );
        }
        return inlineTransport(definition, workerData, concurrency);
      },
      name: 'inline worker',
    };
  }
  const modulePath = resolveWorkerModule(worker);
  return {
    transport: (options) =>
      options.transport
        ? options.transport.bind<T, R>(options)
        : options.workerType === 'process'
          ? processesTransport<T, R>(modulePath, options)
          : threadsTransport<T, R>(modulePath, options),
    name: modulePath,
  };
}

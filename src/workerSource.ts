import type { ResourceLimits, TransferListItem } from 'node:worker_threads';
import { InlineWorker } from './testing/inlineWorker';
import { inlineTransport } from './transport/inline';
import { threadsTransport } from './transport/threads';
import type { Transport } from './transport/transport';
import { resolveWorkerModule } from './workerModule';

/** What `loopPool` and `createPool` accept as the worker: a module, or an inline definition. */
export type WorkerSource<T, R> = string | URL | InlineWorker<T, R, unknown>;

/** How to start the workers of a pool, and how errors name them. */
export interface ResolvedWorker<T, R> {
  readonly transport: (options: TransportOptions) => Transport<T, R>;
  readonly name: string;
}

/** What transports need to know of the options. */
export interface TransportOptions {
  readonly workerData: unknown;
  readonly concurrency: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly gracePeriod: number;
  readonly blockingThreshold: number | undefined;
  readonly transfer: ((task: never) => readonly TransferListItem[]) | undefined;
}

/** Checks the `worker` argument at once and picks the transport: threads for a module, in-process for an inline worker. */
export function resolveWorkerSource<T, R>(worker: unknown): ResolvedWorker<T, R> {
  if (worker instanceof InlineWorker) {
    const definition = (worker as InlineWorker<T, R, unknown>).definition;
    return {
      transport: ({ workerData, concurrency }) => inlineTransport(definition, workerData, concurrency),
      name: 'inline worker',
    };
  }
  const modulePath = resolveWorkerModule(worker);
  return { transport: (options) => threadsTransport<T, R>(modulePath, options), name: modulePath };
}

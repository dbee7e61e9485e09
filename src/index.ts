/**
 * The main thread's side: the {@link loopPool} operator, the long-lived pool of
 * {@link createPool}, their options, and every error class.
 *
 * @module looppool
 */
export { loopPool } from './loopPool';
export {
  createPool,
  type BroadcastOptions,
  type Delivery,
  type LoopPool,
  type PipelineInput,
  type PoolStats,
  type InspectStats,
  type ErrorSummary,
  type LoopDelay,
  type ProcessOptions,
  type Settled,
  type PutOptions,
  type RunOptions,
  type WorkerStats,
} from './createPool';
export type { AckMode, InspectOptions, LoopPoolOptions, OverflowOptions, OverflowStrategy, PipelineOptions, PoolOptions, WorkerType } from './options';
export type { MetricsOptions, StatsdClient, StatsdClientOptions } from './metrics/statsd';
export type { SizeRange } from './poolSize';
export type {
  UntypedWorkerModule,
  WorkerDataOf,
  WorkerDefinitionOf,
  WorkerModule,
  WorkerResult,
  WorkerSource,
  WorkerTask,
} from './workerSource';
export {
  AbortError,
  BufferOverflowError,
  ClusterError,
  LoopBlockedWarning,
  LoopPoolError,
  MessagesLostError,
  PayloadTooLargeError,
  PoolClosedError,
  SerializationError,
  StalledSinkWarning,
  TaskError,
  TaskTimeoutError,
  WorkerCrashError,
  WorkerLoadError,
  type CrashReason,
  type SerializationSubject,
} from './errors';

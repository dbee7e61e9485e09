export { loopPool } from './loopPool';
export {
  createPool,
  type BroadcastOptions,
  type Delivery,
  type LoopPool,
  type PipelineInput,
  type PoolStats,
  type LoopDelay,
  type ProcessOptions,
  type Settled,
  type PutOptions,
  type WorkerStats,
} from './createPool';
export type {
  AckMode,
  LoopPoolOptions,
  MetricsOptions,
  OverflowOptions,
  OverflowStrategy,
  PipelineOptions,
  PoolOptions,
} from './options';
export {
  BufferOverflowError,
  LoopBlockedWarning,
  LoopPoolError,
  PoolClosedError,
  SerializationError,
  TaskError,
  TaskTimeoutError,
  WorkerCrashError,
  WorkerLoadError,
  type CrashReason,
  type SerializationSubject,
} from './errors';

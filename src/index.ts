export { loopPool } from './loopPool';
export {
  createPool,
  type BroadcastOptions,
  type Delivery,
  type LoopPool,
  type PipelineInput,
  type PoolStats,
  type ProcessOptions,
  type Settled,
  type PutOptions,
  type WorkerStats,
} from './createPool';
export type { AckMode, LoopPoolOptions, OverflowOptions, OverflowStrategy, PipelineOptions, PoolOptions } from './options';
export {
  BufferOverflowError,
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

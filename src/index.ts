export { loopPool } from './loopPool';
export {
  createPool,
  type BroadcastOptions,
  type Delivery,
  type LoopPool,
  type PipelineInput,
  type PoolStats,
  type ProcessOptions,
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
  WorkerCrashError,
  WorkerLoadError,
  type SerializationSubject,
} from './errors';

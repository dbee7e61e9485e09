export { loopPool } from './loopPool';
export {
  createPool,
  type BroadcastOptions,
  type Delivery,
  type LoopPool,
  type PoolStats,
  type PutOptions,
  type WorkerStats,
} from './createPool';
export type { AckMode, LoopPoolOptions, PipelineOptions, PoolOptions } from './options';
export {
  LoopPoolError,
  PoolClosedError,
  SerializationError,
  TaskError,
  WorkerCrashError,
  WorkerLoadError,
  type SerializationSubject,
} from './errors';

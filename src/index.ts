export { loopPool } from './loopPool';
export type { LoopPoolOptions } from './options';
export {
  LoopPoolError,
  SerializationError,
  TaskError,
  WorkerCrashError,
  WorkerLoadError,
  type SerializationSubject,
} from './errors';

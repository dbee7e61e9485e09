import { LoopPoolError, SerializationError, TaskError, TaskTimeoutError, WorkerCrashError, WorkerLoadError } from '../errors';
import type { TaskFailure, WorkerFailure } from '../transport/transport';

/** Turns what a port reported about a task into the public error, with the input and its index. */
export function taskError(failure: unknown, index: number, workerIndex: number, input: unknown): LoopPoolError {
  const known = failure as TaskFailure;
  switch (known?.kind) {
    case 'threw':
      return new TaskError(index, workerIndex, input, known.error);
    case 'unserializable':
      return new SerializationError(known.subject, index, workerIndex, known.reason);
    case 'crashed':
      return new WorkerCrashError(workerIndex, known.exitCode, index, known.reason, known.error);
    case 'timeout':
      return new TaskTimeoutError(index, workerIndex, input, known.timeout);
    default:
      return new TaskError(index, workerIndex, input, failure instanceof Error ? failure : new Error(String(failure)));
  }
}

/** Turns what a port reported about a worker as a whole into the public error. */
export function workerError(failure: WorkerFailure, workerIndex: number, worker: string): LoopPoolError {
  switch (failure.kind) {
    case 'load':
      return new WorkerLoadError(
        workerIndex,
        worker,
        failure.error ? `${failure.reason}: ${failure.error.name}: ${failure.error.message}` : failure.reason,
        failure.error,
      );
    case 'crashed':
      return new WorkerCrashError(workerIndex, failure.exitCode, undefined, failure.reason, failure.error);
    case 'unserializable':
      return new SerializationError(failure.subject, undefined, workerIndex, failure.reason);
  }
}

import { SerializationError, TaskError, type LoopPoolError } from '../errors';
import type { TaskFailure } from '../transport/transport';

/** Turns what a port reported about a failed task into the public error, with the input and its index. */
export function taskError(failure: TaskFailure, index: number, workerIndex: number, input: unknown): LoopPoolError {
  return failure.kind === 'threw'
    ? new TaskError(index, workerIndex, input, failure.error)
    : new SerializationError(failure.subject, index, workerIndex, failure.reason);
}

import { PayloadTooLargeError, SerializationError, TaskError, type LoopPoolError } from '../errors';
import type { TaskFailure } from '../transport/transport';

/** Turns what a port reported about a failed task into the public error, with the input and its index. */
export function taskError(failure: TaskFailure, index: number, workerIndex: number, input: unknown): LoopPoolError {
  switch (failure.kind) {
    case 'threw':
      return new TaskError(index, workerIndex, input, failure.error);
    case 'unserializable':
      return new SerializationError(failure.subject, index, workerIndex, failure.reason);
    case 'tooLarge':
      return new PayloadTooLargeError(failure.subject, index, workerIndex, failure.bytes, failure.limit, failure.maxPayload);
  }
}

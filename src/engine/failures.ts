import { BufferOverflowError, PayloadTooLargeError, SerializationError, TaskError, type LoopPoolError } from '../errors';
import { streamOverflowCode } from '../transport/protocol';
import type { TaskFailure } from '../transport/transport';

/**
 * Turns what a port reported about a failed task into the public error, with the input and its
 * index. An Observable task that overflowed its worker's `streamBuffer` fails with
 * `BufferOverflowError` (the worker's error, recognised by its code, is the cause).
 */
export function taskError(failure: TaskFailure, index: number, workerIndex: number, input: unknown, streamBuffer = Infinity): LoopPoolError {
  switch (failure.kind) {
    case 'threw':
      if ((failure.error as { code?: unknown }).code === streamOverflowCode) {
        return new BufferOverflowError(streamBuffer, index, undefined, 'streamBuffer', failure.error);
      }
      return new TaskError(index, workerIndex, input, failure.error);
    case 'unserializable':
      return new SerializationError(failure.subject, index, workerIndex, failure.reason);
    case 'tooLarge':
      return new PayloadTooLargeError(failure.subject, index, workerIndex, failure.bytes, failure.limit, failure.maxPayload);
  }
}

import { BufferOverflowError, SerializationError, TaskError, type LoopPoolError } from '../errors';
import { streamOverflowCode } from '../transport/protocol';
import type { TaskFailure } from '../transport/transport';

/**
 * Turns what a port reported about a failed task into the public error, with the input and its
 * index. An Observable task that overflowed its worker's `streamBuffer` fails with
 * `BufferOverflowError` (the worker's error, recognised by its code, is the cause).
 */
export function taskError(failure: TaskFailure, index: number, workerIndex: number, input: unknown, streamBuffer = Infinity): LoopPoolError {
  if (failure.kind !== 'threw') return new SerializationError(failure.subject, index, workerIndex, failure.reason);
  if ((failure.error as { code?: unknown }).code === streamOverflowCode) {
    return new BufferOverflowError(streamBuffer, index, undefined, 'streamBuffer', failure.error);
  }
  return new TaskError(index, workerIndex, input, failure.error);
}

import type { OperatorFunction } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { loopPool } from '../src/loopPool';
import type { LoopPoolOptions } from '../src/options';
import { inlineWorker, type InlineWorker } from '../src/testing';
import type { ProcessFunction, WorkerDefinition } from '../src/worker/definition';

/** `loopPool(inlineWorker(definition), options)`: the operator a thread pool would be, in virtual time. */
export function inlinePool<T, R>(
  definition: WorkerDefinition<T, R> | ProcessFunction<T, R>,
  sizeOrOptions?: number | LoopPoolOptions<unknown, T>,
): OperatorFunction<T, R> {
  return loopPool(inlineWorker(definition as WorkerDefinition<T, R>) as InlineWorker<T, R>, sizeOrOptions);
}

/** A TestScheduler whose deep equality is Jest's, so asymmetric matchers work in expectations. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

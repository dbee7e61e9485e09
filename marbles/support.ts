import type { OperatorFunction } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ownedPool } from '../src/engine/ownedPool';
import { resolveOptions, type LoopPoolOptions } from '../src/options';
import { inlineTransport } from '../src/transport/inline';
import { normalizeDefinition, type ProcessFunction, type WorkerDefinition } from '../src/worker/definition';

/** The engine over the in-process transport: the operator a thread pool would be, in virtual time. */
export function inlinePool<T, R>(
  definition: WorkerDefinition<T, R> | ProcessFunction<T, R>,
  sizeOrOptions?: number | LoopPoolOptions,
): OperatorFunction<T, R> {
  const options = resolveOptions(sizeOrOptions, 'operator');
  return ownedPool(() => inlineTransport(normalizeDefinition(definition), options.workerData), options, 'inline worker');
}

/** A TestScheduler whose deep equality is Jest's, so asymmetric matchers work in expectations. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/**
 * A user's program, compiled by test/consumerTypes.test.ts against the packed declarations of
 * looppool with `skipLibCheck: false`, under each TypeScript, `@types/node` and
 * `moduleResolution` the README lists as supported. It touches every entry point.
 */
import { createPool, loopPool, StalledSinkWarning, type Delivery, type LoopPoolError, type Settled } from 'looppool';
import { inlineWorker } from 'looppool/testing';
import { nats } from 'looppool/nats';
import { defineWorker } from 'looppool/worker';
import { from, type Observable } from 'rxjs';

export const square = defineWorker((task: number): number => task * task);

export function run(flag: boolean): Observable<number | Settled<number, number>> {
  const pool = createPool<number, number>('./square.worker.js', { size: 2, stallThreshold: 5_000 });
  pool.errors$.subscribe((error: LoopPoolError) => void (error instanceof StalledSinkWarning && error.outstanding));
  void pool.run(3, { transfer: [new ArrayBuffer(8)] });
  const deliveries: Observable<Delivery<number>> = pool.process([1, 2], { ack: 'manual' });
  void deliveries;
  from([1, 2]).pipe(loopPool(inlineWorker(square)));
  void nats({ servers: 'nats://127.0.0.1:4222', pool: 'squares' });
  return pool.process([1, 2, 3], { settle: flag });
}

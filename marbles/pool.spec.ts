import { map, tap, type Observable } from 'rxjs';
import { createPool } from '../src/createPool';
import { inlineWorker } from '../src/testing';
import type { WorkerContext } from '../src/worker/definition';
import { testScheduler } from './support';

describe('createPool engine in virtual time', () => {
  it('puts go to the least busy worker; results$ emits them as they finish', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const pool = createPool(inlineWorker((x: string, ctx: WorkerContext) => cold('--r|', { r: `${x}${ctx.index}` })), 2);
      cold('abc').subscribe((x) => void pool.put(x));
      expectObservable(pool.results$).toBe('--xy-z', { x: 'a0', y: 'b1', z: 'c0' });
    });
  });

  it('runs targeted puts on their worker only, one after another', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const pool = createPool(inlineWorker((x: string, ctx: WorkerContext) => cold('-r|', { r: `${x}${ctx.index}` })), 3);
      cold('abc').subscribe((x) => void pool.put(x, { worker: 2 }));
      expectObservable(pool.results$).toBe('-x-y-z', { x: 'a2', y: 'b2', z: 'c2' });
    });
  });

  it('a broadcast is a barrier: it waits for what its worker has, runs alone, and holds back later tasks', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const tasks: Record<string, Observable<string>> = {
        long: cold('------L|'),
        b1: cold('--1|'),
        b2: cold('--2|'),
        x: cold('-X|'),
      };
      const pool = createPool(inlineWorker((key: string) => tasks[key]!), { size: 1, concurrency: 3 });
      void pool.put('long');
      void pool.broadcast('b1');
      void pool.broadcast('b2');
      void pool.put('x');
      // Though the worker could run 3 tasks at once: b1 waits for the long task, b2 for b1,
      // and x for both broadcasts.
      expectObservable(pool.results$).toBe('------L--1--2-X');
    });
  });

  it('with manual acks, starts no task while the buffer is full, and resumes on done()', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const pool = createPool(inlineWorker((x: string) => cold('r|', { r: x })), { size: 2, ack: 'manual', bufferSize: 1 });
      ['a', 'b', 'c'].forEach((x) => void pool.put(x));
      // The consumer takes 3 frames per result before it calls done().
      const consumed$ = pool.results$.pipe(
        tap((delivery) => cold('---|').subscribe({ complete: () => delivery.done() })),
        map((delivery) => delivery.value),
      );
      expectObservable(consumed$).toBe('a--b--c');
    });
  });
});

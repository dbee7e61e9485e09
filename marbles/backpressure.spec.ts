import { concat, map, of, tap, type OperatorFunction } from 'rxjs';
import { createPool } from '../src/createPool';
import { BufferOverflowError } from '../src/errors';
import type { Settled } from '../src/results';
import { inlineWorker } from '../src/testing';
import { inlinePool, testScheduler } from './support';

/** Each settled record as its input and its index (`c2`): which input ran, under which number. */
const inputAndIndex: OperatorFunction<unknown, string> = map((record) => {
  const settled = record as Settled<string, string>;
  return `${settled.input}${settled.index}`;
});

describe('backpressure in virtual time', () => {
  it('pool.process reads an iterable only when a worker has room', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const readAt: number[] = [];
      function* inputs(): Generator<string> {
        for (const input of ['a', 'b', 'c', 'd']) {
          readAt.push(scheduler.now());
          yield input;
        }
      }
      const pool = createPool(inlineWorker((x: string) => cold('--r|', { r: x.toUpperCase() })), { size: 1, queueSize: 0 });
      expectObservable(pool.process(inputs())).toBe('--A--B--C--D|');
      scheduler.flush();
      // One worker, no queue: each input is read when the previous task completes.
      expect(readAt).toEqual([0, 3, 6, 9]);
    });
  });

  it('with the default queueSize, reads one input ahead per worker, and no more', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const readAt: number[] = [];
      function* inputs(): Generator<string> {
        for (const input of ['a', 'b', 'c', 'd']) {
          readAt.push(scheduler.now());
          yield input;
        }
      }
      const pool = createPool(inlineWorker((x: string) => cold('--r|', { r: x.toUpperCase() })), 1);
      expectObservable(pool.process(inputs())).toBe('--A--B--C--D|');
      scheduler.flush();
      expect(readAt).toEqual([0, 0, 3, 6]);
    });
  });

  it('overflow "error": a hot source that outruns the workers fails with BufferOverflowError', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('abcde|');
      const output = source.pipe(
        inlinePool(() => cold('----x|'), { size: 1, queueSize: 0, overflow: { size: 2, strategy: 'error' } }),
      );
      // a runs; b and c wait (the bound is 2); d does not fit.
      expectObservable(output).toBe('---#', undefined, expect.objectContaining({ name: 'BufferOverflowError', size: 2, index: 3 }));
    });
  });

  it.each([
    // a runs; b and c wait; d and e are dropped.
    ['drop-newest', 'keeps the inputs that waited and drops what does not fit', '----a----b----c|'],
    // a runs; b and c wait; d pushes b out, e pushes c out.
    ['drop-oldest', 'keeps the newest inputs', '----a----d----e|'],
  ] as const)('overflow "%s" %s', (strategy, _behaviour, expected) => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('abcde|');
      const output = source.pipe(inlinePool((x: string) => cold('----r|', { r: x }), { size: 1, queueSize: 0, overflow: { size: 2, strategy } }));
      expectObservable(output).toBe(expected);
    });
  });

  it('a synchronous source larger than the pool waits in full; each input runs once, in input order, under its own index', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // All six come at once: one runs, five wait, and each starts when the one before it ends.
      const output = of('a', 'b', 'c', 'd', 'e', 'f').pipe(
        inlinePool((x: string) => cold('-r|', { r: x }), { size: 1, queueSize: 0, settle: true }),
        inputAndIndex,
      );
      expectObservable(output).toBe('-a-b-c-d-e-f|', { a: 'a0', b: 'b1', c: 'c2', d: 'd3', e: 'e4', f: 'f5' });
    });
  });

  it('overflow "drop-newest": an input dropped keeps its index, so the inputs after it keep theirs', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // a runs; b and c wait; d does not fit and is dropped as input 3; e comes at frame 3, when
      // b runs and only c waits, and is input 4.
      const source = concat(of('a', 'b', 'c', 'd'), cold('---e|'));
      const output = source.pipe(
        inlinePool((x: string) => cold('-r|', { r: x }), { size: 1, queueSize: 0, settle: true, overflow: { size: 2, strategy: 'drop-newest' } }),
        inputAndIndex,
      );
      expectObservable(output).toBe('-a-b-c-e|', { a: 'a0', b: 'b1', c: 'c2', e: 'e4' });
    });
  });

  it.each([
    ['drop-newest', '----a----b----c|'],
    // b and c are dropped: their indices must not hold d and e back in order.
    ['drop-oldest', '----a----d----e|'],
  ] as const)('overflow "%s" in ordered mode: a dropped input leaves no gap in the order', (strategy, expected) => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('abcde|');
      const output = source.pipe(
        inlinePool((x: string) => cold('----r|', { r: x }), { size: 1, queueSize: 0, ordered: true, overflow: { size: 2, strategy } }),
      );
      expectObservable(output).toBe(expected);
    });
  });

  it('with manual acks, pool.process starts no task until the sink is done with a result', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const pool = createPool(inlineWorker((x: string) => cold('r|', { r: x })), 1);
      const consumed = pool.process(['a', 'b', 'c', 'd'], { ack: 'manual', bufferSize: 1 }).pipe(
        // The sink takes 4 frames per result, then says it is done.
        tap((delivery) => cold('----|').subscribe({ complete: () => delivery.done() })),
        map((delivery) => delivery.value),
      );
      // The end of the input is read when there is room again, after the last done().
      expectObservable(consumed).toBe('a---b---c---d---|');
    });
  });

  it('with manual acks, the inputs a source pushed at once wait in line and each starts once the sink is done with a result', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const pool = createPool(inlineWorker((x: string) => cold('r|', { r: x })), 1);
      const consumed = pool.process(of('a', 'b', 'c', 'd'), { ack: 'manual', bufferSize: 1 }).pipe(
        // The sink takes 4 frames per result, then says it is done: that, not a push, starts the next.
        tap((delivery) => cold('----|').subscribe({ complete: () => delivery.done() })),
        map((delivery) => delivery.value),
      );
      // The source completed at once: the output completes when the last task does.
      expectObservable(consumed).toBe('a---b---c---d|');
    });
  });

  it('BufferOverflowError says what overflowed and what to do', () => {
    expect(new BufferOverflowError(2, 3).message).toBe(
      'Input 3 does not fit: 2 inputs already wait for a worker (overflow.size is 2). The source pushes faster than ' +
        'the workers take tasks; raise overflow.size, choose a drop strategy, or pull the source with pool.process().',
    );
  });
});

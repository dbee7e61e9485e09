import { createPool } from '../src/createPool';
import { inlineWorker } from '../src/testing';
import type { WorkerContext } from '../src/worker/definition';
import { testScheduler } from './support';

/** Each task takes 4 frames and says which worker ran it. */
const tagged = (cold: (marbles: string, values?: Record<string, string>) => import('rxjs').Observable<string>) =>
  inlineWorker((x: string, ctx: WorkerContext) => cold('---r|', { r: `${x}${ctx.index}` }));

describe('an elastic pool in virtual time', () => {
  it('grows at once for a burst, lowest index first, and shrinks to min after idleTimeout', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, flush }) => {
      // Each worker holds 2 tasks (concurrency 1, queueSize 1).
      const pool = createPool(tagged(cold), { size: { min: 1, max: 3 }, idleTimeout: 10 });
      const results: string[] = [];
      pool.results$.subscribe((result) => results.push(`${scheduler.now()}:${result}`));
      const sizes: Record<number, number[]> = {};
      const look = (frame: number): void =>
        void cold(`${'-'.repeat(frame)}x`).subscribe(() => (sizes[frame] = pool.stats().workers.map((worker) => worker.index)));
      ['a', 'b', 'c', 'd', 'e'].forEach((x) => void pool.put(x));
      [0, 5, 9, 15, 20].forEach(look);
      flush();
      // Worker 0 takes a and b (one runs, one waits there); c found it full and started worker 1,
      // e started worker 2: each task that waited started a worker at once, lowest index first.
      expect(results).toEqual(['3:a0', '3:c1', '3:e2', '7:b0', '7:d1']);
      // Idle from frame 4 (worker 2) and 8 (worker 1): stopped 10 frames later, down to min.
      expect(sizes).toEqual({ 0: [0, 1, 2], 5: [0, 1, 2], 9: [0, 1, 2], 15: [0, 1], 20: [0] });
      void pool.terminate();
    });
  });

  it('min: 0 starts nothing until a task comes, and a put for worker i starts worker i', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const pool = createPool(tagged(cold), { size: { min: 0, max: 4 }, idleTimeout: 5 });
      expect(pool.size).toBe(0);
      cold('--x').subscribe(() => void pool.put('p', { worker: 3 }));
      expectObservable(pool.results$).toBe('-----p', { p: 'p3' });
      const seen: number[] = [];
      cold('--a--b-------c').subscribe(() => seen.push(pool.size));
      flush();
      // Worker 3 alone ran; it stopped 5 frames after its task ended (frame 5).
      expect(seen).toEqual([1, 1, 0]);
      void pool.terminate();
    });
  });

  it('a worker started later replays the broadcast history before its first task, once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const ran: string[] = [];
      const pool = createPool(
        inlineWorker((x: string, ctx: WorkerContext) => {
          ran.push(`${x}${ctx.index}`);
          return cold('-r|', { r: `${x}${ctx.index}` });
        }),
        { size: { min: 1, max: 2 }, queueSize: 0, idleTimeout: 100 },
      );
      void pool.broadcast('config');
      cold('----(abc)').subscribe((x) => void pool.put(x));
      // The broadcast ran on worker 0 alone. Worker 1 started for b and ran config first, quietly;
      // b went meanwhile to worker 0, free first, and c to worker 1.
      expectObservable(pool.results$).toBe('-x---a-(bc)', { x: 'config0', a: 'a0', b: 'b0', c: 'c1' });
      cold('----------x').subscribe(() => {
        expect(ran).toEqual(['config0', 'a0', 'config1', 'b0', 'c1']);
        void pool.terminate();
      });
    });
  });

  it('a pulled source (pool.process over an iterable) grows the pool too', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, flush }) => {
      const pool = createPool(tagged(cold), { size: { min: 1, max: 3 }, queueSize: 0, idleTimeout: 100 });
      const results: string[] = [];
      pool.process(['a', 'b', 'c', 'd', 'e', 'f']).subscribe((result) => results.push(`${scheduler.now()}:${result}`));
      flush();
      // Read only as workers have room: each input read while the running workers were full started one more.
      expect(results).toEqual(['3:a0', '3:b1', '3:c2', '7:d0', '7:e1', '7:f2']);
      void pool.terminate();
    });
  });

  it('a put for an index at or past max is a RangeError from max on', () => {
    const pool = createPool(inlineWorker((x: number) => x), { size: { min: 0, max: 2 } });
    expect(() => pool.put(1, { worker: 2 })).toThrow(new RangeError('Expected `worker` to be an integer from 0 to 1, got 2 (number)'));
    return pool.stop();
  });
});

import { map, scan } from 'rxjs';
import priceWorker, { parse } from '../examples/pricing/price.worker';
import { loopPool } from '../src/loopPool';
import { inlineWorker } from '../src/testing';
import { testScheduler } from './support';

/**
 * A user's pipeline with loopPool inside, marble-tested: the worker module's own definition
 * runs inline, and its `timer` runs in virtual time. The same pipeline runs on threads in
 * examples/pricing/main.ts.
 */
describe('a user pipeline: parse, price on the pool, running total', () => {
  const pipeline = (ordered: boolean, queueSize?: number) =>
    [
      map(parse),
      loopPool(inlineWorker(priceWorker), { size: 2, ordered, queueSize }),
      scan((total: number, price: number) => total + price, 0),
    ] as const;

  it('keeps input order with ordered: true', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // Each quote takes `quantity` frames: apple 3, pear 1, fig 5; fig starts when apple is done.
      const lines = cold('abc|', { a: '3 x apple @ 2', b: '1 x pear @ 10', c: '5 x fig @ 1' });
      const [parseLines, price, total] = pipeline(true);
      expectObservable(lines.pipe(parseLines, price, total)).toBe('---(xy)-(z|)', { x: 6, y: 16, z: 21 });
    });
  });

  it('emits as quotes come back without it', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const lines = cold('abc|', { a: '3 x apple @ 2', b: '1 x pear @ 10', c: '5 x fig @ 1' });
      const [parseLines, price, total] = pipeline(false);
      // pear is back at frame 2, apple at 3. fig arrives at frame 2 while both workers are busy:
      // it is handed to the apple's worker (queueSize defaults to 1), starts when the apple is
      // done (frame 3), and is back at 8.
      expectObservable(lines.pipe(parseLines, price, total)).toBe('--xy----(z|)', { x: 10, y: 16, z: 21 });
    });
  });

  it('with queueSize: 0, hands fig over only when a worker is free', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const lines = cold('abc|', { a: '3 x apple @ 2', b: '1 x pear @ 10', c: '5 x fig @ 1' });
      const [parseLines, price, total] = pipeline(false, 0);
      // The pear's worker is free at frame 2: fig starts there and is back at 7.
      expectObservable(lines.pipe(parseLines, price, total)).toBe('--xy---(z|)', { x: 10, y: 16, z: 21 });
    });
  });
});

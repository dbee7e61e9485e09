import { lastValueFrom, toArray } from 'rxjs';
import { createPool, PoolClosedError, type LoopPool } from 'looppool';
import { workerPath } from './support/paths';

/** `await using`, as piscina's users write it: the pool is stopped, gracefully, when its scope ends. */
describe('pool[Symbol.asyncDispose]', () => {
  it('stops the pool at the end of an `await using` scope, after its tasks have finished', async () => {
    let escaped: LoopPool<number, number> | undefined;
    let results: Promise<number[]> | undefined;
    {
      await using pool = createPool<number, number>(workerPath('echo.ts'), 1);
      escaped = pool;
      results = lastValueFrom(pool.results$.pipe(toArray()));
      void pool.put(1);
      void pool.put(2);
    }
    // Disposal was a graceful stop(): both tasks ran, results$ completed, the pool takes no more.
    await expect(results).resolves.toEqual([1, 2]);
    expect(() => escaped!.put(3)).toThrow(PoolClosedError);
  });

  it('is stop(): disposing a stopped pool again does nothing more', async () => {
    const pool = createPool<number, number>(workerPath('echo.ts'), 1);
    await pool.stop();
    await expect(pool[Symbol.asyncDispose]()).resolves.toBeUndefined();
  });
});

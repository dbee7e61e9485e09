import { firstValueFrom, from, lastValueFrom, take, toArray } from 'rxjs';
import { createPool, loopPool, WorkerLoadError } from 'looppool';
import { inlineWorker } from 'looppool/testing';
import echo from './workers/echo';

/** looppool/testing from the built package, as a user's test suite imports it. */
describe('looppool/testing', () => {
  it('runs a worker module’s exported definition inline through loopPool', async () => {
    const results = await lastValueFrom(from([1, 2, 3]).pipe(loopPool(inlineWorker(echo), { size: 2, ordered: true }), toArray()));
    expect(results).toEqual([1, 2, 3]);
  });

  it('runs createPool inline, with ctx.index and workerData', async () => {
    const pool = createPool(
      inlineWorker({ process: (x: number, ctx: { index: number; workerData: number }) => x * ctx.workerData + ctx.index }),
      { size: 1, workerData: 10 },
    );
    const results = firstValueFrom(pool.results$.pipe(take(2), toArray()));
    await Promise.all([pool.put(1), pool.put(2)]);
    expect(await results).toEqual([10, 20]);
    await pool.stop();
  });

  it('reports an init that throws as WorkerLoadError naming the inline worker', async () => {
    const failing = inlineWorker({
      init() {
        throw new Error('no table');
      },
      process: (x: number) => x,
    });
    const error = await lastValueFrom(from([1]).pipe(loopPool(failing, 1))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerLoadError);
    expect(error).toMatchObject({ worker: 'inline worker', message: 'Worker 0 could not load inline worker: init threw: Error: no table' });
  });

  it('rejects what is not a worker definition at once', () => {
    expect(() => inlineWorker(42 as never)).toThrow(
      new TypeError('Expected a worker definition `{ init?, process }` or a process function, got 42 (number)'),
    );
    expect(() => inlineWorker({ init: () => {} } as never)).toThrow(TypeError);
  });
});

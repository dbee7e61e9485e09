import { lastValueFrom, of } from 'rxjs';
import { createPool, loopPool, WorkerLoadError, type LoopPoolError } from 'looppool';
import { workerPath } from './support/paths';

/**
 * `loopPool(worker, options)` runs on the pool `createPool` builds: what fails the pool
 * reaches `onError` by the same rule in both (before they shared one wiring, the operator's
 * output errored but its `onError` never heard of it).
 */
describe('one wiring for the operator and the pool', () => {
  it('a worker module that does not load goes to onError once, from the operator as from the pool', async () => {
    const fromOperator: LoopPoolError[] = [];
    const output = lastValueFrom(of(1).pipe(loopPool(workerPath('initThrows.ts'), { size: 1, onError: (e) => fromOperator.push(e) })));
    await expect(output).rejects.toBeInstanceOf(WorkerLoadError);

    const fromPool: LoopPoolError[] = [];
    const pool = createPool(workerPath('initThrows.ts'), { size: 1, onError: (e) => fromPool.push(e) });
    await expect(pool.ready).rejects.toBeInstanceOf(WorkerLoadError);
    await expect(pool.stop()).rejects.toBeInstanceOf(WorkerLoadError);

    expect(fromOperator.map((e) => e.name)).toEqual(['WorkerLoadError']);
    expect(fromOperator.map((e) => e.name)).toEqual(fromPool.map((e) => e.name));
  });
});

/**
 * `overflow` on createPool bounds what waits in the pool for `put` and `run` too (piscina's
 * `maxQueue`): past it they reject with BufferOverflowError and nothing is queued. Before,
 * 50 runs with `overflow: { size: 4, strategy: 'error' }` all waited: none was refused.
 */
import { BufferOverflowError, createPool, type LoopPool } from 'looppool';
import { workerPath } from './support/paths';

const sleep = workerPath('sleep.ts');

describe('load shedding with overflow (put and run)', () => {
  let pool: LoopPool<number, number> | undefined;
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  // Every strategy refuses the new call: a caller is told at once; no promise already given out is dropped.
  it.each([
    ['run', 'error'],
    ['put', 'error'],
    ['run', 'drop-newest'],
    ['put', 'drop-newest'],
    ['run', 'drop-oldest'],
    ['put', 'drop-oldest'],
  ] as const)('refuses a %s past overflow.size with BufferOverflowError (strategy %s); what was taken runs', async (call, strategy) => {
    const own = createPool<number, number>(sleep, { size: 1, overflow: { size: 4, strategy } });
    pool = own;
    const calls = Array.from({ length: 50 }, () => (call === 'run' ? own.run(50) : own.put(50)));
    const outcomes = await Promise.allSettled(calls);
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason as Error);
    const ran = outcomes.length - refused.length;
    // 4 wait in the pool; at most concurrency + queueSize (2) more were already at the worker.
    expect(ran).toBeGreaterThanOrEqual(4);
    expect(ran).toBeLessThanOrEqual(6);
    for (const error of refused) {
      expect(error).toBeInstanceOf(BufferOverflowError);
      expect(error).toMatchObject({ size: 4, index: undefined });
      expect(error.message).toMatch(new RegExp(`^pool\\.${call}\\(\\) was refused: 4 tasks of put and run already wait for a worker \\(overflow.size is 4\\); the task was not queued`));
    }
    expect(own.stats().waiting).toBe(0); // nothing refused was queued
  });

  it.each([
    ['run', 'pool.run(task, options)'],
    ['put', 'pool.put(task, options)'],
  ] as const)('%s takes no overflow of its own: passing one throws rather than being ignored', (call, where) => {
    const own = createPool<number, number>(sleep, { size: 1 });
    pool = own;
    const options = { overflow: { size: 1, strategy: 'error' } } as never;
    const call$ = (): unknown => (call === 'run' ? own.run(1, options) : own.put(1, options));
    expect(call$).toThrow(`\`overflow\` belongs to the pool: set it in createPool(...), not in ${where}`);
  });
});

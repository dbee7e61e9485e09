import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { firstValueFrom, from, lastValueFrom, range, Subject, take, toArray } from 'rxjs';
import { createPool, loopPool } from 'looppool';
import type { KindTask } from './workers/kinds';
import { workerPath } from './support/paths';
import { itSharing, workerTypes } from './support/workerTypes';
import { load, tally } from './support/tally';
import { until } from './support/until';

const sorted = <T>(values: T[]): T[] => [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const collect = <T>(source: import('rxjs').Observable<T>): Promise<T[]> => lastValueFrom(source.pipe(toArray()));

interface ContextResult {
  task: number;
  index: number;
  threadId: number;
  pid: number;
  fromInit: string;
  workerData: { greeting: string };
}

describe.each(workerTypes)('loopPool on real workers (%s)', (workerType) => {
  it('runs every input on the workers and merges the results', async () => {
    const results = await collect(range(0, 100).pipe(loopPool<number, number>(workerPath('echo.ts'), { size: 2, workerType })));
    expect(sorted(results)).toEqual([...Array(100).keys()]);
  });

  it('keeps input order with ordered: true, whatever order the tasks finish in', async () => {
    const delays = [30, 1, 20, 2, 10, 3, 0, 15];
    const results = await collect(
      from(delays).pipe(loopPool<number, number>(workerPath('sleep.ts'), { workerType, size: 3, ordered: true })),
    );
    expect(results).toEqual(delays);
  });

  it('streams every kind of task output: value, Promise, RxJS, observable-fns, AsyncIterable', async () => {
    const tasks: KindTask[] = [
      { kind: 'value', values: [1] },
      { kind: 'promise', values: [2] },
      { kind: 'rxjs', values: [3, 4, 5] },
      { kind: 'observable-fns', values: [6, 7] },
      { kind: 'async-iterable', values: [8, 9, 10] },
      { kind: 'empty', values: [] },
    ];
    const results = await collect(from(tasks).pipe(loopPool<KindTask, number>(workerPath('kinds.ts'), { workerType, size: 2, ordered: true })));
    expect(results).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('carries falsy and structured values intact in both directions', async () => {
    const values = [0, '', false, null, undefined, NaN, [1, [2]], { a: new Map([[1, new Date(0)]]) }, 10n];
    const results = await collect(from(values).pipe(loopPool<unknown, unknown>(workerPath('echo.ts'), { workerType, size: 2, ordered: true })));
    expect(results).toEqual(values);
  });

  itSharing(workerType)('runs up to `concurrency` tasks at once on each worker, and no more', async () => {
    const counters = new Int32Array(new SharedArrayBuffer(4 * 4));
    await collect(
      from(Array(24).fill(20)).pipe(loopPool<number, number>(workerPath('concurrency.ts'), {
        workerType,
        size: 2,
        concurrency: 3,
        workerData: counters,
      })),
    );
    // [running, most] per worker: each worker reached 3 at once and never more.
    expect([counters[1], counters[3]]).toEqual([3, 3]);
    expect([counters[0], counters[2]]).toEqual([0, 0]);
  });

  it('gives every worker its index and workerData, and runs init once per worker', async () => {
    // On a pool whose workers are all ready, so that every one takes tasks: a worker process
    // takes none until it is, and the first ready may run all 40 tiny tasks before the others.
    const pool = createPool<number, ContextResult>(workerPath('context.ts'), { workerType, size: 3, workerData: { greeting: 'hello' } });
    await pool.ready;
    const results = await collect(range(0, 40).pipe(loopPool(pool))).finally(() => pool.terminate());
    expect(new Set(results.map((r) => r.index))).toEqual(new Set([0, 1, 2]));
    expect(new Set(results.map((r) => `${r.pid}/${r.threadId}`)).size).toBe(3);
    for (const result of results) {
      expect(result.fromInit).toBe(`hello from ${result.index}`);
      expect(result.workerData).toEqual({ greeting: 'hello' });
    }
  });

  it('starts fresh workers for each subscription', async () => {
    const pipeline = range(0, 4).pipe(
      loopPool<number, ContextResult>(workerPath('context.ts'), { workerType, size: 2, workerData: { greeting: 'hi' } }),
    );
    const [first, second] = await Promise.all([collect(pipeline), collect(pipeline)]);
    const threads = (results: ContextResult[]) => new Set(results.map((r) => `${r.pid}/${r.threadId}`));
    const overlap = [...threads(first!)].filter((id) => threads(second!).has(id));
    expect(overlap).toEqual([]);
  });

  it('merges values sent with ctx.emit into the output', async () => {
    const results = await collect(from(['a', 'b']).pipe(loopPool<string, string>(workerPath('emitter.ts'), { size: 1, workerType })));
    expect(sorted(results)).toEqual(['done a', 'done b', 'note a', 'note b', 'ready 0']);
  });

  it('accepts an absolute path, a path relative to the current directory, and file: URLs', async () => {
    const absolute = workerPath('echo.ts');
    const forms = [absolute, relative(process.cwd(), absolute), pathToFileURL(absolute), pathToFileURL(absolute).href];
    for (const worker of forms) {
      await expect(firstValueFrom(from([7]).pipe(loopPool<number, number>(worker, { size: 1, workerType })))).resolves.toBe(7);
    }
  });

  it('loads ES module workers, top-level await included', async () => {
    await expect(firstValueFrom(from(['x']).pipe(loopPool<string, string>(workerPath('esm.mjs'), { size: 1, workerType })))).resolves.toBe(
      'esm x',
    );
  });

  it('aborts ctx.signal of the tasks in flight and stops the workers when the subscriber unsubscribes', async () => {
    const counters = tally(workerType);
    const subscription = range(0, 10)
      .pipe(loopPool<number, number>(workerPath('cancellable.ts'), { workerType, size: 2, workerData: counters }))
      .subscribe();
    await until(() => load(counters, 0) === 2);
    subscription.unsubscribe();
    await until(() => load(counters, 1) === 2); // both signals aborted
    expect(load(counters, 0)).toBe(2); // only two tasks ever started
    // The noLeaks check after this test verifies that both workers are gone.
  });

  it('stops the threads once take(n) has what it needs', async () => {
    const results = await collect(range(0, 1_000).pipe(loopPool<number, number>(workerPath('echo.ts'), { size: 2, workerType }), take(3)));
    expect(results).toHaveLength(3);
  });

  it('takes inputs from a source that keeps pushing while tasks run', async () => {
    const source = new Subject<number>();
    const done = collect(source.pipe(loopPool<number, number>(workerPath('echo.ts'), { workerType, size: 2, ordered: true })));
    for (let i = 0; i < 50; i++) {
      source.next(i);
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    source.complete();
    await expect(done).resolves.toEqual([...Array(50).keys()]);
  });
});

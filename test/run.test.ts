import { AbortError, createPool, TaskError, type LoopPool } from 'looppool';
import type { KindTask } from './workers/kinds';
import { workerPath } from './support/paths';
import { load, tally } from './support/tally';
import { until } from './support/until';
import { workerTypes } from './support/workerTypes';

/** `pool.run(task, { worker, signal, transfer })`: one task, its result, as piscina's `run`. */
describe.each(workerTypes)('pool.run (%s workers)', (workerType) => {
  const pools: Array<LoopPool<never, unknown>> = [];
  const track = <P>(pool: P): P => (pools.push(pool as never), pool);
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.terminate()));
  });

  it('resolves with the task’s result, which does not go to results$', async () => {
    const pool = track(createPool<KindTask, unknown>(workerPath('kinds.ts'), { size: 1, workerType }));
    const seen: unknown[] = [];
    pool.results$.subscribe((value) => seen.push(value));
    await expect(pool.run({ kind: 'promise', values: ['a'] })).resolves.toBe('a');
    await pool.put({ kind: 'value', values: ['put'] });
    expect(seen).toEqual(['put']);
  });

  it('resolves with the last value of a task that yields several, and undefined for none', async () => {
    const pool = track(createPool<KindTask, unknown>(workerPath('kinds.ts'), { size: 1, workerType }));
    await expect(pool.run({ kind: 'async-iterable', values: [1, 2, 3] })).resolves.toBe(3);
    await expect(pool.run({ kind: 'empty', values: [] })).resolves.toBeUndefined();
  });

  it('runs on the worker it names', async () => {
    const pool = track(createPool<number, { index: number }>(workerPath('context.ts'), { workerType, size: 2, workerData: { greeting: 'hi' } }));
    await expect(pool.run(0, { worker: 1 })).resolves.toMatchObject({ index: 1 });
    await expect(pool.run(0, { worker: 0 })).resolves.toMatchObject({ index: 0 });
    expect(() => pool.run(0, { worker: 2 })).toThrow(RangeError);
  });

  it('rejects with the task’s error', async () => {
    const pool = track(createPool<string, string>(workerPath('failing.ts'), { size: 1, workerType }));
    await expect(pool.run('throw')).rejects.toBeInstanceOf(TaskError);
  });

  it('a signal that aborts a running task aborts its ctx.signal and rejects with AbortError, the reason as cause', async () => {
    const shared = tally(workerType);
    const pool = track(createPool<number, number>(workerPath('cancellable.ts'), { workerType, size: 1, workerData: shared }));
    const controller = new AbortController();
    const running = pool.run(1, { signal: controller.signal });
    await until(() => load(shared, 0) === 1); // started
    const reason = new Error('no longer needed');
    controller.abort(reason);
    const error = await running.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toBe(reason);
    await until(() => load(shared, 1) === 1); // the worker saw its ctx.signal abort
    await expect(pool.run(-1)).resolves.toBe(-1); // the pool goes on
  });

  it('a task aborted before it started is never sent', async () => {
    const shared = tally(workerType);
    const pool = track(createPool<number, number>(workerPath('cancellable.ts'), { workerType, size: 1, queueSize: 0, workerData: shared }));
    const blocker = new AbortController();
    const first = pool.run(1, { signal: blocker.signal }).catch(() => 'aborted');
    const controller = new AbortController();
    const waiting = pool.run(2, { signal: controller.signal });
    await until(() => load(shared, 0) === 1);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    blocker.abort();
    await first;
    await expect(pool.run(-1)).resolves.toBe(-1);
    expect(load(shared, 0)).toBe(1); // the second task never started
  });

  it('rejects at once with a signal that has already aborted', async () => {
    const pool = track(createPool<number, number>(workerPath('cancellable.ts'), { workerType, size: 1, workerData: tally(workerType) }));
    await expect(pool.run(1, { signal: AbortSignal.abort('too late') })).rejects.toMatchObject({ name: 'AbortError', cause: 'too late' });
  });

  it('moves what `transfer` lists instead of copying it (a process copies it)', async () => {
    const pool = track(createPool<ArrayBuffer, ArrayBuffer>(workerPath('buffers.ts'), { size: 1, workerType }));
    const buffer = new ArrayBuffer(16);
    const result = await pool.run(buffer, { transfer: [buffer] });
    expect(buffer.byteLength).toBe(workerType === 'thread' ? 0 : 16); // moved to a thread, copied to a process
    expect(new Uint8Array(result)[0]).toBe(42);
  });

  it('validates its options like the pool’s', () => {
    const pool = track(createPool<number, number>(workerPath('echo.ts'), { size: 1, workerType }));
    expect(() => pool.run(1, { workr: 0 } as never)).toThrow(/Unknown option `workr` of pool.run\(task, options\); did you mean `worker`\?/);
    expect(() => pool.run(1, { signal: 'stop' } as never)).toThrow(TypeError);
  });
});

import { firstValueFrom, from, lastValueFrom, take, toArray } from 'rxjs';
import {
  createPool,
  loopPool,
  TaskError,
  TaskTimeoutError,
  WorkerCrashError,
  type LoopPool,
} from 'looppool';
import type { Fault, FaultTask } from './workers/faulty';
import type { StatefulResult, StatefulTask } from './workers/stateful';
import { workerPath } from './support/paths';
import { load, tally } from './support/tally';
import { until } from './support/until';
import { workerTypes } from './support/workerTypes';

const faulty = workerPath('faulty.ts');
const tasks = (...faults: Fault[]): FaultTask[] => faults.map((fault, id) => ({ id, fault }));
const failure = (promise: Promise<unknown>): Promise<unknown> => promise.then(
  () => { throw new Error('expected a failure'); },
  (error: unknown) => error,
);

describe.each(workerTypes)('nothing lost (%s workers)', (workerType) => {
  const counters = (): ReturnType<typeof tally> => tally(workerType, 64);
  let pool: LoopPool<FaultTask, number> | undefined;
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  describe('crash recovery', () => {
    it.each(['crash-once', 'uncaught', 'rejection'] as const)(
      'replaces a worker that dies (%s), runs init again, and retries its task',
      async (fault) => {
        const shared = counters();
        pool = createPool<FaultTask, number>(faulty, { workerType, size: 2, workerData: shared, retries: 1 });
        await pool.ready;
        const outcome = await Promise.allSettled([pool.put({ id: 0, fault }), pool.put({ id: 1, fault: 'none' })]);
        if (fault === 'crash-once') {
          expect(outcome.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']); // the retry ran on a live worker
        } else {
          // These fail every time they run: after one retry, the task fails with the crash.
          expect(outcome[0]).toMatchObject({ status: 'rejected', reason: expect.any(WorkerCrashError) });
          expect((outcome[0] as PromiseRejectedResult).reason).toMatchObject({ reason: 'uncaught error', index: 0 });
        }
        const restarts = pool.stats().workers.reduce((sum, w) => sum + w.restarts, 0);
        expect(restarts).toBe(fault === 'crash-once' ? 1 : 2);
        await until(() => load(shared, 1) === 2 + restarts); // init ran in every replacement
        await expect(pool.put({ id: 2, fault: 'none' })).resolves.toBeUndefined(); // the pool goes on
      },
    );

    it('fails a task that keeps crashing its worker with WorkerCrashError, after `retries` more runs', async () => {
      pool = createPool<FaultTask, number>(faulty, { workerType, size: 1, workerData: counters(), retries: 2 });
      const error = await failure(pool.put({ id: 0, fault: 'crash' }));
      expect(error).toBeInstanceOf(WorkerCrashError);
      expect(error).toMatchObject({ index: 0, workerIndex: 0, exitCode: 7, reason: 'exited' });
      expect(pool.stats().workers[0]!.restarts).toBe(3); // the first run and two retries
    });

    it('runs a crashed pipeline task again and keeps ordered output complete', async () => {
      const inputs = tasks('none', 'none', 'crash-once', 'none', 'none', 'crash-once', 'none');
      const results = await lastValueFrom(
        from(inputs).pipe(
          loopPool<FaultTask, number>(faulty, { workerType, size: 2, ordered: true, workerData: counters() }),
          toArray(),
        ),
      );
      expect(results).toEqual([0, 1, 2, 3, 4, 5, 6]);
    });

    it('counts a worker that dies under its first task as crashed, not as failing to load', async () => {
      // The race in which its exit is read before its readiness is forced, deterministically, in
      // test/supervision.test.ts (12.2); this is the plain case, with a replacement.
      const results = await lastValueFrom(
        from(tasks('crash-once', 'crash-once', 'none')).pipe(
          loopPool<FaultTask, number>(faulty, { workerType, size: 2, workerData: counters() }),
          toArray(),
        ),
      );
      expect(results.sort()).toEqual([0, 1, 2]);
    });

    it('charges a retry for a crash under a task handed over before the worker was ready', async () => {
      // A task that always crashes, put before the worker is ready, runs exactly 1 + retries times.
      pool = createPool<FaultTask, number>(faulty, { workerType, size: 1, workerData: counters(), retries: 2 });
      await expect(pool.put({ id: 0, fault: 'crash' })).rejects.toBeInstanceOf(WorkerCrashError);
      expect(pool.stats().workers[0]!.restarts).toBe(3);
    });

    it('does not run a finished task again when the task that starts after it ends the thread', async () => {
      // Concurrency 1: task 1 waits at the worker's gate behind task 0. When task 0 finishes,
      // the gate starts task 1 at once, and task 1 exits the thread. Task 0's end must still
      // reach the main thread, or task 0 is retried and reported twice.
      const records = await lastValueFrom(
        from(tasks('later', 'crash')).pipe(
          loopPool<FaultTask, number>(faulty, { workerType, size: 1, concurrency: 1, queueSize: 1, settle: true, workerData: counters() }),
          toArray(),
        ),
      );
      expect(records.map((record) => [record.index, record.status])).toEqual([
        [0, 'fulfilled'],
        [1, 'rejected'],
      ]);
    });

    it('replays the broadcasts a crashed worker had run, in order, before any new task', async () => {
      const shared = tally(workerType, 16);
      const stateful = createPool<StatefulTask, StatefulResult>(workerPath('stateful.ts'), {
        workerType,
        size: 2,
        workerData: shared,
        retries: 0,
      });
      try {
        const results: StatefulResult[] = [];
        stateful.results$.subscribe((result) => results.push(result));
        await stateful.broadcast({ kind: 'refresh', version: 1 }, { key: 'table' });
        await stateful.broadcast({ kind: 'refresh', version: 2 }, { key: 'table' }); // replaces version 1 in the history
        await stateful.broadcast({ kind: 'refresh', version: 3 }, { key: 'other' });
        expect([0, 1].map((slot) => load(shared, slot))).toEqual([3, 3]);
        const before = results.length;
        await expect(stateful.put({ kind: 'exit' }, { worker: 1 })).rejects.toBeInstanceOf(WorkerCrashError);
        await stateful.put({ kind: 'whoami' }, { worker: 1 });
        // The replacement ran init, then version 2 and version 3 (the latest per key), then whoami.
        expect([8, 9].map((slot) => load(shared, slot))).toEqual([1, 2]);
        expect([0, 1].map((slot) => load(shared, slot))).toEqual([3, 5]);
        // The replays' results are not delivered again: results$ saw them from the first runs.
        expect(results.slice(before).map((r) => `${r.worker} ${r.kind} ${r.version}`)).toEqual(['1 whoami 3']);
      } finally {
        await stateful.terminate();
      }
    });

    it('fails the pool with a clear error when workers crash more often than maxRestarts', async () => {
      pool = createPool<FaultTask, number>(faulty, { workerType, size: 1, workerData: counters(), maxRestarts: 3 });
      const poolError = firstValueFrom(pool.results$).catch((error: unknown) => error);
      const taskError = await failure(pool.put({ id: 0, fault: 'poison-init' }));
      expect(taskError).toBeInstanceOf(WorkerCrashError);
      const error = (await poolError) as WorkerCrashError;
      expect(error).toBeInstanceOf(WorkerCrashError);
      expect(error.message).toMatch(/^Workers crashed more than 3 times within a minute \(maxRestarts\); worker 0 was not restarted\./);
      expect(() => pool!.put({ id: 1, fault: 'none' })).toThrow('The pool is closed');
    });

    it('reports a worker that runs out of memory as WorkerCrashError with reason "out of memory", and replaces it', async () => {
      pool = createPool<FaultTask, number>(faulty, {
        workerType,
        size: 1,
        workerData: counters(),
        retries: 0,
        resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
      });
      const error = await failure(pool.put({ id: 0, fault: 'oom' }));
      expect(error).toBeInstanceOf(WorkerCrashError);
      expect(error).toMatchObject({ reason: 'out of memory', index: 0 });
      expect((error as Error).message).toBe('Worker 0 ran out of memory while running task 0: Error: ' + ((error as Error).cause as Error).message);
      await expect(pool.put({ id: 1, fault: 'none' })).resolves.toBeUndefined();
      expect(pool.stats().workers[0]!.restarts).toBe(1);
    });
  });

  describe('timeouts', () => {
    it('fails a task past taskTimeout with TaskTimeoutError after aborting its signal; a worker that answers is kept', async () => {
      const shared = counters();
      pool = createPool<FaultTask, number>(faulty, { workerType, size: 1, workerData: shared, taskTimeout: 100 });
      const error = await failure(pool.put({ id: 0, fault: 'hang' }));
      expect(error).toBeInstanceOf(TaskTimeoutError);
      expect(error).toMatchObject({ index: 0, workerIndex: 0, timeout: 100 });
      expect((error as Error).message).toBe("Task 0 (input: { id: 0, fault: 'hang' }) ran longer than taskTimeout (100 ms) on worker 0");
      await until(() => load(shared, 0) === 1); // ctx.signal was aborted
      await expect(pool.put({ id: 1, fault: 'none' })).resolves.toBeUndefined();
      expect(pool.stats().workers[0]!.restarts).toBe(0);
    });

    it('replaces a worker whose loop stays blocked past gracePeriod, and retries the tasks it held', async () => {
      pool = createPool<FaultTask, number>(faulty, { workerType, size: 1, queueSize: 2, workerData: counters(), taskTimeout: 100, gracePeriod: 100 });
      await pool.ready;
      const spin = pool.put({ id: 0, fault: 'spin' });
      const behind = pool.put({ id: 1, fault: 'none' }); // handed to the worker, waiting behind the spin
      await expect(spin).rejects.toBeInstanceOf(TaskTimeoutError);
      await expect(behind).resolves.toBeUndefined(); // it never ran there: sent again to the replacement
      expect(pool.stats().workers[0]!.restarts).toBe(1);
    });
  });

  it('unsubscribing a pipeline of a shared pool aborts its tasks’ signals and never sends the rest', async () => {
    const shared = counters();
    pool = createPool<FaultTask, number>(faulty, { workerType, size: 2, workerData: shared });
    const subscription = from(tasks('hang', 'hang', 'hang', 'hang', 'hang', 'hang', 'hang', 'hang'))
      .pipe(loopPool(pool))
      .subscribe();
    await until(() => pool!.stats().workers.every((w) => w.inFlight === 1));
    expect(pool.stats().waiting).toBe(4); // two running, two at the workers, four never sent
    subscription.unsubscribe();
    await until(() => load(shared, 0) === 2); // the two running tasks saw their signal abort
    expect(pool.stats()).toMatchObject({ waiting: 0, workers: [{ inFlight: 0, queued: 0 }, { inFlight: 0, queued: 0 }] });
  });

  describe('settle mode', () => {
    it('emits a record per result and per failure instead of erroring, in input order', async () => {
      const records = await lastValueFrom(
        from(tasks('none', 'throw', 'none', 'crash', 'none')).pipe(
          loopPool<FaultTask, number>(faulty, { workerType, size: 2, ordered: true, settle: true, workerData: counters(), retries: 0 }),
          toArray(),
        ),
      );
      expect(records.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
      expect(records[0]).toEqual({ status: 'fulfilled', value: 0, input: { id: 0, fault: 'none' }, index: 0 });
      expect(records[1]).toMatchObject({ status: 'rejected', reason: expect.any(TaskError), input: { id: 1, fault: 'throw' }, index: 1 });
      expect(records[3]).toMatchObject({ status: 'rejected', reason: expect.any(WorkerCrashError), index: 3 });
    });

    it('works on a shared pool and through pool.process', async () => {
      pool = createPool<FaultTask, number>(faulty, { workerType, size: 2, workerData: counters() });
      const records = await lastValueFrom(pool.process(tasks('none', 'throw', 'none'), { settle: true, ordered: true }).pipe(take(3), toArray()));
      expect(records.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    });
  });
});

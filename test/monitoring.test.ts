import { firstValueFrom, from, lastValueFrom, take, toArray } from 'rxjs';
import {
  createPool,
  LoopBlockedWarning,
  loopPool,
  TaskError,
  WorkerCrashError,
  type LoopPool,
  type LoopPoolError,
  type PoolStats,
} from 'looppool';
import type { FaultTask } from './workers/faulty';
import { workerPath } from './support/paths';
import { tally } from './support/tally';
import { until } from './support/until';
import { itSharing, workerTypes } from './support/workerTypes';

const faulty = workerPath('faulty.ts');
const ok = (id: number): FaultTask => ({ id, fault: 'none' });

describe.each(workerTypes)('monitoring (%s workers)', (workerType) => {
  const counters = (): ReturnType<typeof tally> => tally(workerType, 64);
  let pool: LoopPool<FaultTask, number> | undefined;
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  it('stats$ measures every worker and the pool every statsInterval', async () => {
    pool = createPool<FaultTask, number>(faulty, { workerType, name: 'etl', size: 2, statsInterval: 100, workerData: counters() });
    await pool.ready;
    await Promise.all(Array.from({ length: 50 }, (_, id) => pool!.put(ok(id))));
    const [first, second] = await firstValueFrom(pool.stats$.pipe(take(2), toArray()));
    for (const stats of [first!, second!]) {
      expect(stats).toMatchObject({ name: 'etl', size: 2, waiting: 0, pendingResults: 50, dropped: 0 });
      expect(stats.cpu).toBeGreaterThanOrEqual(0);
      expect(stats.rss).toBeGreaterThan(10 * 1024 * 1024);
      expect(stats.workers.map((w) => w.name)).toEqual(['etl#0', 'etl#1']);
      for (const worker of stats.workers) {
        expect(worker.elu).toBeGreaterThanOrEqual(0);
        expect(worker.elu).toBeLessThanOrEqual(1);
        expect(worker.heapUsed).toBeGreaterThan(0);
        expect(worker.heapTotal).toBeGreaterThanOrEqual(worker.heapUsed!);
        expect(worker.loopDelay).toEqual({ p50: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) });
      }
    }
    // The 50 tasks were measured in the first interval, and counted on the workers that ran them.
    expect(first!.taskDuration.count).toBe(50);
    expect(first!.taskDuration.p99).toBeGreaterThanOrEqual(first!.taskDuration.p50);
    expect(second!.taskDuration.count).toBe(0);
    expect(second!.workers.reduce((sum, w) => sum + w.done, 0)).toBe(50);
  });

  it('stats() answers at once, with the counts of now', async () => {
    pool = createPool<FaultTask, number>(faulty, { workerType, size: 2, workerData: counters() });
    await pool.put(ok(0));
    await pool.put({ id: 1, fault: 'throw' }).catch(() => {});
    const stats: PoolStats = pool.stats();
    expect(stats.workers.reduce((sum, w) => sum + w.done, 0)).toBe(1);
    expect(stats.workers.reduce((sum, w) => sum + w.failed, 0)).toBe(1);
    expect(stats.taskDuration.count).toBe(2);
    expect(stats.workers[0]).toMatchObject({ name: 'looppool#0', inFlight: 0, queued: 0, restarts: 0 });
  });

  it('errors$ and onError carry every task error, of puts and pipelines, and every crash, named', async () => {
    const seen: LoopPoolError[] = [];
    pool = createPool<FaultTask, number>(faulty, { workerType, name: 'jobs', size: 1, workerData: counters(), onError: (e) => seen.push(e) });
    const viaStream: LoopPoolError[] = [];
    pool.errors$.subscribe((error) => viaStream.push(error));
    await pool.put({ id: 0, fault: 'throw' }).catch(() => {});
    await lastValueFrom(from([{ id: 1, fault: 'throw' } as FaultTask]).pipe(loopPool(pool))).catch(() => {});
    await pool.put({ id: 2, fault: 'crash-once' }); // crashes its worker, then succeeds on the replacement
    expect(seen.map((e) => e.name)).toEqual(['TaskError', 'TaskError', 'WorkerCrashError']);
    expect(viaStream).toEqual(seen);
    expect(seen[0]).toBeInstanceOf(TaskError);
    expect(seen[0]).toMatchObject({ index: 0, workerIndex: 0, workerName: 'jobs#0', input: { id: 0, fault: 'throw' } });
    expect(seen[2]).toBeInstanceOf(WorkerCrashError);
    expect(seen[2]).toMatchObject({ workerName: 'jobs#0', exitCode: 7, reason: 'exited' });
  });

  // Threads only: a worker process shares no memory for the heartbeat that blockingThreshold reads.
  itSharing(workerType)('warns when a worker’s loop is blocked past blockingThreshold, naming the worker and the task', async () => {
    pool = createPool<FaultTask, number>(faulty, { workerType, name: 'api', size: 2, blockingThreshold: 100, workerData: counters() });
    const errors: LoopPoolError[] = [];
    pool.errors$.subscribe((error) => errors.push(error));
    const warning = firstValueFrom(pool.warnings$);
    await pool.ready;
    await pool.put({ id: 7, fault: 'busy' }, { worker: 1 }); // blocks worker 1 for 300 ms
    const raised = await warning;
    expect(raised).toBeInstanceOf(LoopBlockedWarning);
    expect(raised).toMatchObject({ workerIndex: 1, workerName: 'api#1', threshold: 100, index: 0, input: { id: 7, fault: 'busy' } });
    expect(raised.blockedMs).toBeGreaterThanOrEqual(100);
    expect(raised.message).toMatch(/^The event loop of worker api#1 has been blocked for \d+ ms \(blockingThreshold: 100 ms\) by task 0 \(input: \{ id: 7, fault: 'busy' \}\)$/);
    expect(errors).toContain(raised);
    await pool.put(ok(8), { worker: 1 }); // once over, nothing more is reported
    expect(errors).toHaveLength(1);
  });

  // Threads only: a worker process shares no memory for the heartbeat that blockingThreshold reads.
  itSharing(workerType)('gives the operator onStats and onError too', async () => {
    const stats: PoolStats[] = [];
    const errors: LoopPoolError[] = [];
    const inputs = [ok(0), { id: 1, fault: 'busy' } as FaultTask, ok(2)];
    const records = await lastValueFrom(
      from(inputs).pipe(
        loopPool<FaultTask, number>(faulty, {
          workerType,
          size: 1,
          settle: true,
          statsInterval: 50,
          blockingThreshold: 100,
          workerData: counters(),
          onStats: (s) => stats.push(s),
          onError: (e) => errors.push(e),
        }),
        toArray(),
      ),
    );
    expect(records.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    await until(() => stats.length > 0);
    expect(stats[0]!.workers[0]!.name).toBe('looppool#0');
    expect(errors.map((e) => e.name)).toEqual(['LoopBlockedWarning']);
  });
});

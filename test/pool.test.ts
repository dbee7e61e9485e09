import { firstValueFrom, from, lastValueFrom, Subject, take, toArray } from 'rxjs';
import {
  createPool,
  loopPool,
  PoolClosedError,
  TaskError,
  WorkerLoadError,
  type Delivery,
  type LoopPool,
} from 'looppool';
import type { StatefulResult, StatefulTask } from './workers/stateful';
import { workerPath } from './support/paths';
import { load, tally } from './support/tally';
import { until } from './support/until';
import { itSharing, workerTypes } from './support/workerTypes';

const stateful = workerPath('stateful.ts');
const sleep = (ms: number): StatefulTask => ({ kind: 'sleep', ms });
const whoami: StatefulTask = { kind: 'whoami' };

describe.each(workerTypes)('createPool (%s workers)', (workerType) => {
  const counters = (): ReturnType<typeof tally> => tally(workerType, 16);
  let pool: LoopPool<StatefulTask, StatefulResult> | undefined;
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  it('starts its workers at once: ready resolves once every init has run', async () => {
    const shared = counters();
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 3, workerData: shared });
    await pool.ready;
    expect([8, 9, 10].map((slot) => load(shared, slot))).toEqual([1, 1, 1]);
  });

  it('rejects ready with WorkerLoadError when a worker cannot load', async () => {
    pool = createPool<StatefulTask, StatefulResult>(workerPath('initThrows.ts'), { size: 2, workerType });
    await expect(pool.ready).rejects.toBeInstanceOf(WorkerLoadError);
    await expect(firstValueFrom(pool.results$)).rejects.toBeInstanceOf(WorkerLoadError);
    expect(() => pool!.put(whoami)).toThrow(PoolClosedError);
  });

  itSharing(workerType)('shares a SharedArrayBuffer in workerData with every worker instead of copying it', async () => {
    const shared = new Int32Array(new SharedArrayBuffer(16 * 4));
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, workerData: shared });
    await pool.ready;
    await pool.broadcast({ kind: 'refresh', version: 1 });
    // The workers wrote into the very memory this thread holds.
    expect(Array.from(shared.slice(0, 2))).toEqual([1, 1]);
  });

  it('delivers the results of put tasks on results$, and resolves each put when its task is done', async () => {
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, workerData: counters() });
    const results = firstValueFrom(pool.results$.pipe(take(3), toArray()));
    await Promise.all([pool.put(whoami), pool.put(whoami), pool.put(sleep(5))]);
    expect((await results).map((r) => r.kind).sort()).toEqual(['sleep', 'whoami', 'whoami']);
  });

  it('runs a targeted put on that worker alone', async () => {
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 4, workerData: counters() });
    const results = firstValueFrom(pool.results$.pipe(take(20), toArray()));
    for (let i = 0; i < 20; i++) void pool.put(whoami, { worker: i % 2 === 0 ? 3 : 1 });
    const workers = (await results).map((r) => r.worker);
    expect(workers.filter((w) => w === 3)).toHaveLength(10);
    expect(workers.filter((w) => w === 1)).toHaveLength(10);
  });

  it('throws RangeError for a worker index out of range', () => {
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, workerData: counters() });
    expect(() => pool!.put(whoami, { worker: 2 })).toThrow(
      new RangeError('Expected `worker` to be an integer from 0 to 1, got 2 (number)'),
    );
    expect(() => pool!.put(whoami, { worker: -1 })).toThrow(RangeError);
  });

  it('spreads untargeted tasks evenly over the workers', async () => {
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 4, workerData: counters() });
    await pool.ready;
    const results = firstValueFrom(pool.results$.pipe(take(8), toArray()));
    for (let i = 0; i < 8; i++) void pool.put(sleep(30));
    const perWorker = [0, 0, 0, 0];
    for (const { worker } of await results) perWorker[worker]!++;
    expect(perWorker).toEqual([2, 2, 2, 2]);
  });

  it('broadcasts to every worker exactly once, in order, while they are busy', async () => {
    const shared = counters();
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 4, concurrency: 2, workerData: shared });
    const results: StatefulResult[] = [];
    pool.results$.subscribe((result) => results.push(result));
    await pool.ready;
    const busy = Array.from({ length: 40 }, () => pool!.put(sleep(10)));
    const first = pool.broadcast({ kind: 'refresh', version: 1 });
    const second = pool.broadcast({ kind: 'refresh', version: 2 });
    await Promise.all([first, second, ...busy]);
    expect([0, 1, 2, 3].map((slot) => load(shared, slot))).toEqual([2, 2, 2, 2]);
    // On each worker version 1 ran, then version 2: each reports them in that order.
    for (let worker = 0; worker < 4; worker++) {
      const refreshes = results.filter((r) => r.worker === worker && r.kind === 'refresh').map((r) => r.version);
      expect(refreshes).toEqual([1, 2]);
    }
  });

  it('merges values workers send with ctx.emit into results$, and keeps results until someone subscribes', async () => {
    const emitter = createPool<string, string>(workerPath('emitter.ts'), { size: 2, workerType });
    try {
      await emitter.ready; // both inits have emitted (a worker process takes tasks only once ready)
      await emitter.put('a');
      await emitter.put('b');
      expect(emitter.stats().pendingResults).toBe(6); // ready 0, ready 1, and a note and a result per task
      const results = await firstValueFrom(emitter.results$.pipe(take(6), toArray()));
      expect(results.sort()).toEqual(['done a', 'done b', 'note a', 'note b', 'ready 0', 'ready 1']);
      expect(emitter.stats().pendingResults).toBe(0);
    } finally {
      await emitter.terminate();
    }
  });

  it('with manual acks, holds dispatch while the buffer is full, and resumes on done()', async () => {
    const manual = createPool<StatefulTask, StatefulResult>(stateful, {
      workerType,
      size: 2,
      workerData: counters(),
      ack: 'manual',
      bufferSize: 3,
    });
    try {
      // A worker process takes tasks only once it is ready: until then the other one takes them all.
      await manual.ready;
      const deliveries: Array<Delivery<StatefulResult>> = [];
      manual.results$.subscribe((delivery) => deliveries.push(delivery));
      const puts = Array.from({ length: 10 }, () => manual.put(whoami));
      await until(() => deliveries.length === 3);
      await new Promise((resolve) => setTimeout(resolve, 100)); // room for a wrong dispatch to show
      expect(deliveries).toHaveLength(3);
      expect(manual.stats()).toMatchObject({ pendingResults: 3, waiting: 7 });
      expect(manual.stats().workers.map((w) => w.inFlight)).toEqual([0, 0]);
      deliveries[0]!.done();
      deliveries[0]!.done(); // idempotent
      await until(() => deliveries.length === 4);
      expect(manual.stats().waiting).toBe(6);
      for (let i = 1; i < 10; i++) {
        await until(() => deliveries.length > i);
        deliveries[i]!.done();
      }
      await Promise.all(puts);
      expect(deliveries.map((d) => d.value.kind)).toEqual(Array(10).fill('whoami'));
      expect(new Set(deliveries.map((d) => d.worker))).toEqual(new Set([0, 1]));
      expect(manual.stats()).toMatchObject({ pendingResults: 0, waiting: 0 });
    } finally {
      await manual.terminate();
    }
  });

  it('rejects the put of a failed task with TaskError and reports it on errors$; the pool goes on', async () => {
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 1, workerData: counters() });
    const errors = firstValueFrom(pool.errors$);
    await expect(pool.put({ kind: 'fail' })).rejects.toBeInstanceOf(TaskError);
    expect(await errors).toMatchObject({ name: 'TaskError', index: 0, workerIndex: 0 });
    await expect(pool.put(whoami)).resolves.toBeUndefined();
  });

  describe('loopPool(pool)', () => {
    it('runs a pipeline on the pool without owning it: unsubscribing leaves the pool running', async () => {
      pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, workerData: counters() });
      const first = await lastValueFrom(from([whoami, whoami]).pipe(loopPool(pool), toArray()));
      expect(first).toHaveLength(2);
      const subscription = from([sleep(1_000)]).pipe(loopPool(pool)).subscribe();
      await until(() => pool!.stats().workers.some((w) => w.inFlight === 1));
      subscription.unsubscribe();
      expect(pool.stats().workers.map((w) => w.inFlight)).toEqual([0, 0]);
      await expect(pool.put(whoami)).resolves.toBeUndefined();
    });

    it('lets two pipelines share the pool, each seeing only its own results', async () => {
      pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, workerData: counters() });
      const direct: StatefulResult[] = [];
      pool.results$.subscribe((r) => direct.push(r));
      const [a, b] = await Promise.all([
        lastValueFrom(from(Array(20).fill(sleep(1))).pipe(loopPool(pool), toArray())),
        lastValueFrom(from(Array(30).fill(whoami)).pipe(loopPool(pool, { ordered: true }), toArray())),
      ]);
      expect(a.map((r) => r.kind)).toEqual(Array(20).fill('sleep'));
      expect(b.map((r) => r.kind)).toEqual(Array(30).fill('whoami'));
      expect(direct).toEqual([]);
    });

    it('rejects pool options given to a pipeline', () => {
      pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 1, workerData: counters() });
      expect(() => loopPool(pool!, { size: 2 } as never)).toThrow(
        new TypeError('`size` belongs to the pool: set it in createPool(...), not in loopPool(pool, ...)'),
      );
    });
  });

  describe('stop()', () => {
    it('finishes every queued and running task, delivers the results, then ends the workers', async () => {
      pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, workerData: counters() });
      const results = lastValueFrom(pool.results$.pipe(toArray()));
      const puts = Array.from({ length: 30 }, (_, i) => pool!.put(i % 3 === 0 ? sleep(5) : whoami));
      const stopped = pool.stop();
      expect(() => pool!.put(whoami)).toThrow(PoolClosedError);
      expect(() => pool!.put(whoami)).toThrow('The pool is closed: put() takes no new task');
      expect(() => pool!.broadcast(whoami)).toThrow(PoolClosedError);
      await stopped;
      await Promise.all(puts);
      expect(await results).toHaveLength(30); // results$ completed after the last one
      expect(pool.stop()).toBe(stopped); // idempotent
    });

    it('lets an open pipeline finish what it took, then error with PoolClosedError', async () => {
      pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, workerData: counters() });
      const source = new Subject<StatefulTask>();
      const seen: StatefulResult[] = [];
      const ended = new Promise((resolve) =>
        source.pipe(loopPool(pool!)).subscribe({ next: (r) => seen.push(r), error: resolve, complete: () => resolve('completed') }),
      );
      source.next(sleep(20));
      source.next(sleep(20));
      await pool.stop();
      expect(await ended).toBeInstanceOf(PoolClosedError);
      expect(seen).toHaveLength(2);
    });
  });

  describe('terminate()', () => {
    it('stops at once; unfinished tasks fail with PoolClosedError', async () => {
      pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 1, workerData: counters() });
      await pool.ready;
      const running = pool.put(sleep(10_000));
      const queued = pool.put(whoami);
      const terminated = pool.terminate();
      expect(pool.terminate()).toBe(terminated); // idempotent
      await terminated;
      await expect(running).rejects.toBeInstanceOf(PoolClosedError);
      await expect(queued).rejects.toBeInstanceOf(PoolClosedError);
      expect(() => pool!.put(whoami)).toThrow(PoolClosedError);
    });
  });
});

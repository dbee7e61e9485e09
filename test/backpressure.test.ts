import { Readable } from 'node:stream';
import { concatMap, count, defer, finalize, firstValueFrom, lastValueFrom, scan, Subject, take, toArray } from 'rxjs';
import { BufferOverflowError, createPool, loopPool, type LoopPool, type PoolStats } from 'looppool';
import type { StatefulResult, StatefulTask } from './workers/stateful';
import { workerPath } from './support/paths';
import { tally } from './support/tally';
import { workerTypes } from './support/workerTypes';

const stateful = workerPath('stateful.ts');
const echo = workerPath('echo.ts');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function* sleeps(count: number): Generator<StatefulTask> {
  for (let i = 0; i < count; i++) yield { kind: 'sleep', ms: i % 3 };
}

/** Samples `pool.stats()` every millisecond until stopped, keeping the largest of each count. */
function watch(pool: LoopPool<never, unknown, unknown>) {
  const most = { inFlight: 0, queued: 0, inFlightTotal: 0, waiting: 0, pendingResults: 0 };
  const sample = (stats: PoolStats): void => {
    most.inFlight = Math.max(most.inFlight, ...stats.workers.map((w) => w.inFlight));
    most.queued = Math.max(most.queued, ...stats.workers.map((w) => w.queued));
    most.inFlightTotal = Math.max(most.inFlightTotal, stats.workers.reduce((sum, w) => sum + w.inFlight, 0));
    most.waiting = Math.max(most.waiting, stats.waiting);
    most.pendingResults = Math.max(most.pendingResults, stats.pendingResults);
  };
  const timer = setInterval(() => sample(pool.stats()), 1);
  return {
    most,
    sample: () => sample(pool.stats()),
    stop: () => clearInterval(timer),
  };
}

describe.each(workerTypes)('backpressure on real workers (%s)', (workerType) => {
  const counters = (): ReturnType<typeof tally> => tally(workerType, 16);
  let pool: LoopPool<StatefulTask, StatefulResult> | undefined;
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  it('keeps tasks in flight, queued and waiting within their bounds while a generator is pulled', async () => {
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, concurrency: 3, queueSize: 2, workerData: counters() });
    const watcher = watch(pool as never);
    let results = 0;
    await lastValueFrom(pool.process(sleeps(3_000)).pipe(concatMap(async () => void (results++, watcher.sample()))), {
      defaultValue: undefined,
    });
    watcher.stop();
    expect(results).toBe(3_000);
    expect(watcher.most.inFlight).toBe(3); // concurrency, reached and never passed
    expect(watcher.most.queued).toBeLessThanOrEqual(2); // queueSize
    expect(watcher.most.inFlightTotal).toBeLessThanOrEqual(6); // size × concurrency
    expect(watcher.most.waiting).toBeLessThanOrEqual(1); // a sync source is read only when a worker has room
  });

  it('reads an async iterable and a Readable in object mode only a bounded way ahead', async () => {
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, workerData: counters() });
    async function* generated(): AsyncGenerator<StatefulTask> {
      yield* sleeps(500);
    }
    for (const input of [generated(), Readable.from(sleeps(500))]) {
      const watcher = watch(pool as never);
      const results = await lastValueFrom(pool.process(input).pipe(count()));
      watcher.stop();
      expect(results).toBe(500);
      expect(watcher.most.waiting).toBeLessThanOrEqual(2 * (1 + 1)); // readAhead: size × (concurrency + queueSize)
    }
  });

  it('closes the source when the subscriber leaves early: the generator’s finally runs', async () => {
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, workerData: counters() });
    let read = 0;
    let closed = false;
    function* endless(): Generator<StatefulTask> {
      try {
        for (;;) {
          read++;
          yield { kind: 'whoami' };
        }
      } finally {
        closed = true;
      }
    }
    await lastValueFrom(pool.process(endless()).pipe(take(10)));
    expect(closed).toBe(true);
    expect(read).toBeLessThan(20); // what ten results needed, plus what workers held
  });

  it('with manual acks, a sink ten times slower than the workers gets everything, with bounded results outstanding', async () => {
    pool = createPool<StatefulTask, StatefulResult>(stateful, { workerType, size: 2, workerData: counters() });
    const watcher = watch(pool as never);
    let received = 0;
    let done = 0;
    let mostOutstanding = 0;
    const written = await lastValueFrom(
      pool.process(sleeps(300), { ack: 'manual', bufferSize: 20 }).pipe(
        concatMap(async (delivery) => {
          received++;
          mostOutstanding = Math.max(mostOutstanding, received - done);
          await sleep(2); // writing a row takes 2 ms; a task takes about 1
          delivery.done();
          done++;
          return delivery.value;
        }),
        count(),
      ),
    );
    watcher.stop();
    expect(written).toBe(300); // nothing dropped
    expect(mostOutstanding).toBeLessThanOrEqual(20); // bufferSize: the workers wait for the sink
    expect(watcher.most.waiting).toBeLessThanOrEqual(4);
  });

  it('runs the recipe of docs/backpressure.md: a pool owned by one pulled pipeline', async () => {
    function* rows(): Generator<number> {
      for (let i = 1; i <= 100; i++) yield i;
    }
    const totals$ = defer(() => {
      const owned = createPool<number, number>(echo, { size: 2, workerType });
      return owned.process(rows()).pipe(finalize(() => void owned.stop()));
    }).pipe(scan((sum, price) => sum + price, 0));
    await expect(lastValueFrom(totals$)).resolves.toBe(5050);
  });

  describe('overflow, for a hot source', () => {
    it('"error" fails with BufferOverflowError naming the size', async () => {
      const source = new Subject<number>();
      const output = lastValueFrom(source.pipe(loopPool<number, number>(echo, { workerType, size: 1, overflow: { size: 10, strategy: 'error' } })));
      for (let i = 0; i < 100; i++) source.next(i);
      const error = await output.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BufferOverflowError);
      expect(error).toMatchObject({ size: 10 });
    });

    it('"drop-newest" and "drop-oldest" keep the buffer within its size and count what they drop', async () => {
      for (const strategy of ['drop-newest', 'drop-oldest'] as const) {
        const shared = createPool<number, number>(echo, { workerType, size: 1, queueSize: 0 });
        try {
          await shared.ready; // a worker process takes its first input only once ready
          const source = new Subject<number>();
          const results = lastValueFrom(source.pipe(loopPool(shared, { overflow: { size: 10, strategy } }), toArray()));
          for (let i = 0; i < 100; i++) source.next(i);
          expect(shared.stats().waiting).toBe(10);
          source.complete();
          const kept = await results;
          // One input was handed to the worker at once, ten waited: the other 89 were dropped.
          expect(kept).toHaveLength(11);
          expect(shared.stats().dropped).toBe(89);
          expect(kept.slice(1)).toEqual(strategy === 'drop-newest' ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] : [90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
        } finally {
          await shared.terminate();
        }
      }
    });

    it('without a bound, shows the waiting inputs in stats()', async () => {
      const shared = createPool<number, number>(echo, { workerType, size: 1, queueSize: 0 });
      try {
        await shared.ready; // a worker process takes its first input only once ready
        const source = new Subject<number>();
        const results = firstValueFrom(source.pipe(loopPool(shared), toArray()));
        for (let i = 0; i < 1_000; i++) source.next(i);
        expect(shared.stats().waiting).toBe(999);
        source.complete();
        expect(await results).toHaveLength(1_000);
      } finally {
        await shared.terminate();
      }
    });
  });
});

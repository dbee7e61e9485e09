import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferOverflowError, createPool, loopPool, type LoopPool, type LoopPoolOptions, type WorkerType } from 'looppool';
import { nats } from 'looppool/nats';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { concatMap, firstValueFrom, lastValueFrom, of, take, toArray } from 'rxjs';
import type { StreamTask } from './workers/stream';
import { workerPath } from './support/paths';
import { childProcesses, threadResources, whenThreadsEnd } from './support/threads';
import { until } from './support/until';
import { workerTypes } from './support/workerTypes';

/** The default `streamWindow`. */
const defaultWindow = 1024;

/**
 * Values of the long run. 2,000,000 takes 10-30 s per worker type on a busy 2-core machine:
 * .ci/run runs it on one Node version (LOOPPOOL_STREAM_FULL=run), the others 200,000.
 */
const longRun = process.env.LOOPPOOL_STREAM_FULL === 'run' ? 2_000_000 : 200_000;

/** How much more the peak RSS of the long run may be than that of a run of 1,000 values. */
const rssAllowance = 64 * 1024 * 1024;

/**
 * One task yields `count` values of 100 bytes through `loopPool`, to a subscriber that takes
 * one value per millisecond for its first two seconds (it blocks the main thread, as a slow
 * synchronous sink does), then as fast as it can. The worker writes how many values it has
 * pulled to a file every 16 values; every 16 values taken, the subscriber reads it and
 * compares it with what it has taken.
 */
async function slowSink(
  workerType: WorkerType,
  count: number,
  counter: string,
  transport?: LoopPoolOptions['transport'],
): Promise<{ taken: number; maxAhead: number; peakRss: number }> {
  let taken = 0;
  let maxAhead = -Infinity;
  let peakRss = process.memoryUsage.rss();
  let start = 0;
  let last = 0;
  writeFileSync(counter, Buffer.alloc(4));
  const fd = openSync(counter, 'r');
  const pulled = Buffer.alloc(4);
  const task: StreamTask = { kind: 'generate', count, size: 100, report: 16, counter };
  await new Promise<void>((resolve, reject) => {
    of(task)
      .pipe(loopPool<StreamTask, string>(workerPath('stream.ts'), transport ? { size: 1, transport } : { size: 1, workerType }))
      .subscribe({
        next: () => {
          taken++;
          if (taken % 16 === 0) {
            readSync(fd, pulled, 0, 4, 0);
            maxAhead = Math.max(maxAhead, pulled.readUInt32LE() - taken);
          }
          if (taken % 256 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
          const now = performance.now();
          if (start === 0) start = last = now;
          if (now - start > 2_000) return;
          while (performance.now() - last < 1);
          last = performance.now();
        },
        error: reject,
        complete: resolve,
      });
  }).finally(() => closeSync(fd));
  return { taken, maxAhead, peakRss };
}

describe.each(workerTypes)('streaming tasks with credits (%s workers)', (workerType) => {
  const pools: Array<LoopPool<never, unknown>> = [];
  const track = <P>(pool: P): P => (pools.push(pool as never), pool);
  let dir = '';
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'looppool-stream-'))));
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.terminate()));
    rmSync(dir, { recursive: true, force: true });
  });

  it(`runs ahead of a slow subscriber by at most streamWindow values, and keeps memory flat over ${longRun.toLocaleString('en')} values`, async () => {
    const counter = join(dir, 'pulled');
    const small = await slowSink(workerType, 1_000, counter);
    expect(small.taken).toBe(1_000);
    const large = await slowSink(workerType, longRun, counter);
    expect(large.taken).toBe(longRun);
    expect(large.maxAhead).toBeLessThanOrEqual(defaultWindow);
    // It did run ahead: the bound is what held it, not a worker slower than the sink.
    expect(large.maxAhead).toBeGreaterThan(defaultWindow / 2);
    expect(large.peakRss - small.peakRss).toBeLessThan(rssAllowance);
  }, 120_000);

  it('stops pulling at take(n) and runs the generator’s finally on the worker: its file handle is closed', async () => {
    const pool = track(createPool<StreamTask, number>(workerPath('stream.ts'), { size: 1, workerType, streamWindow: 16 }));
    const path = join(dir, 'input');
    const marker = join(dir, 'closed');
    writeFileSync(path, 'x');
    const values = await lastValueFrom(pool.process([{ kind: 'file', path, marker } as StreamTask]).pipe(take(5), toArray()));
    expect(values).toEqual([0, 1, 2, 3, 4]);
    await until(() => existsSync(marker));
    // The generator was held at the window: it yielded at most 16 values more than were taken.
    expect(Number(readFileSync(marker, 'utf8'))).toBeLessThanOrEqual(5 + 16);
  });

  it('lets the generator’s async finally finish when take(n) ends a pool of the operator’s own (loopPool(path)), before the worker exits', async () => {
    const path = join(dir, 'input');
    const marker = join(dir, 'closed');
    writeFileSync(path, 'x');
    const children = childProcesses();
    // The finally closes its handle, then waits a timer: a worker that exited one turn after
    // the abort (as before) never got there. The worker exits as soon as the finally is done;
    // gracePeriod, after which it would be terminated, is far longer than that on a busy machine.
    const task: StreamTask = { kind: 'file', path, marker, lingerMs: 20 };
    const options = { size: 1, workerType, streamWindow: 16, gracePeriod: 20_000 };
    const values = await lastValueFrom(of(task).pipe(loopPool<StreamTask, number>(workerPath('stream.ts'), options), take(5), toArray()));
    expect(values).toEqual([0, 1, 2, 3, 4]);
    // take(5) unsubscribed: the pool is terminated. Once its worker has exited, the finally has run.
    await whenThreadsEnd(25_000, children);
    expect({ threads: threadResources(), processes: childProcesses() - children }).toEqual({ threads: [], processes: 0 });
    expect(existsSync(marker)).toBe(true);
    expect(Number(readFileSync(marker, 'utf8'))).toBeLessThanOrEqual(5 + 16);
  });

  it('stops pulling when ctx.signal aborts (pool.run with an AbortSignal): the file handle is closed', async () => {
    const pool = track(createPool<StreamTask, number>(workerPath('stream.ts'), { size: 1, workerType, streamWindow: 16 }));
    const path = join(dir, 'input');
    const marker = join(dir, 'closed');
    writeFileSync(path, 'x');
    const controller = new AbortController();
    const running = pool.run({ kind: 'file', path, marker }, { signal: controller.signal });
    await until(() => existsSync(`${marker}.open`), 10_000);
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => existsSync(marker));
    expect(Number(readFileSync(marker, 'utf8'))).toBeGreaterThanOrEqual(3);
  });

  it('fails an Observable task that emits past streamWindow + streamBuffer with BufferOverflowError', async () => {
    const pool = track(createPool<StreamTask, number>(workerPath('stream.ts'), { size: 1, workerType, streamWindow: 16, streamBuffer: 100 }));
    const error = await lastValueFrom(pool.process([{ kind: 'observable', count: 1_000 } as StreamTask])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BufferOverflowError);
    expect(error).toMatchObject({ bound: 'streamBuffer', size: 100, index: 0 });
    expect((error as Error).message).toMatch(/streamBuffer is 100/);
    // Within the bound, every value arrives, in order.
    const values = await lastValueFrom(pool.process([{ kind: 'observable', count: 116 } as StreamTask]).pipe(toArray()));
    expect(values).toEqual([...Array(116).keys()]);
  });

  it('returns credit from every consumer: ordered, manual acks, results$, pool.run', async () => {
    const pool = track(createPool<StreamTask, number>(workerPath('stream.ts'), { size: 2, workerType, streamWindow: 8 }));
    const tasks: StreamTask[] = [
      { kind: 'numbers', from: 0, count: 500 },
      { kind: 'numbers', from: 500, count: 500 },
    ];
    const all = [...Array(1_000).keys()];
    // Ordered: the second task's values wait in the reorder buffer until the first has ended.
    await expect(lastValueFrom(pool.process(tasks, { ordered: true }).pipe(toArray()))).resolves.toEqual(all);
    // Manual acks, done() a turn later.
    const acked = pool.process(tasks, { ack: 'manual' }).pipe(
      concatMap(async (delivery) => {
        await new Promise((resolve) => setImmediate(resolve));
        delivery.done();
        return delivery.value;
      }),
      toArray(),
    );
    expect((await lastValueFrom(acked)).sort((a, b) => a - b)).toEqual(all);
    // The pool's results$.
    const results = firstValueFrom(pool.results$.pipe(take(1_000), toArray()));
    await Promise.all(tasks.map((task) => pool.put(task)));
    expect((await results).sort((a, b) => a - b)).toEqual(all);
    await expect(pool.run(tasks[1]!)).resolves.toBe(999);
  });
});

describeWithNats('streaming tasks with credits over NATS', () => {
  let server: NatsServer;
  let host: Host | undefined;
  let dir = '';
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'looppool-stream-'));
    server = await startNats();
  });
  afterEach(async () => {
    await host?.kill();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('relays credits through the host: its thread runs ahead of a slow subscriber by at most streamWindow values', async () => {
    const pool = `stream${process.pid}`;
    host = startHost(workerPath('stream.ts'), server.url, pool, ['--threads', '1']);
    await host.printed(/serving pool/);
    const run = await slowSink('thread', 20_000, join(dir, 'pulled'), nats({ servers: server.url, pool }));
    expect(run.taken).toBe(20_000);
    expect(run.maxAhead).toBeLessThanOrEqual(defaultWindow);
    // It did run ahead: the window is what held it, not a worker slower than the sink.
    expect(run.maxAhead).toBeGreaterThan(defaultWindow / 2);
  }, 60_000);
});

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferOverflowError, createPool, loopPool, type LoopPool } from 'looppool';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { concatMap, firstValueFrom, lastValueFrom, of, take, toArray } from 'rxjs';
import type { StreamTask } from './workers/stream';
import { workerPath } from './support/paths';
import { slowSink, smallHeaps, type SlowSinkRun } from './support/slowSink';
import { childProcesses, threadResources, whenThreadsEnd } from './support/threads';
import { until } from './support/until';
import { itSharing, workerTypes } from './support/workerTypes';

/** The default `streamWindow`. */
const defaultWindow = 4096;

/**
 * Values of the long run. 2,000,000 takes 10-30 s per worker type on a busy 2-core machine:
 * .ci/run runs it on one Node version (LOOPPOOL_STREAM_FULL=run), the others 200,000.
 */
const longRun = process.env.LOOPPOOL_STREAM_FULL === 'run' ? 2_000_000 : 200_000;

/**
 * How much more the peak RSS of the long run may be than that of a run of 1,000 values: of
 * the sink's process (each run in a process of its own, see support/slowSink.ts) and, over
 * NATS, of the host's. Both run with small V8 heaps, so that RSS follows what they hold.
 */
const rssAllowance = 64 * 1024 * 1024;

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

  itSharing(workerType)('lets the generator’s finally finish when take(n) ends the pool while the thread’s answer to connect has not arrived (it streams already)', async () => {
    const path = join(dir, 'input');
    const marker = join(dir, 'closed');
    writeFileSync(path, 'x');
    // lateReady.ts holds back the thread's answer to connect for good: the pool still counts the
    // worker as starting when take(5) ends it, though the worker has started the task.
    const task: StreamTask = { kind: 'file', path, marker, lingerMs: 20 };
    const options = { size: 1, workerType, streamWindow: 16, gracePeriod: 20_000 };
    const values = await lastValueFrom(of(task).pipe(loopPool<StreamTask, number>(workerPath('lateReady.ts'), options), take(5), toArray()));
    expect(values).toEqual([0, 1, 2, 3, 4]);
    await whenThreadsEnd(25_000);
    expect(threadResources()).toEqual([]);
    expect(existsSync(marker)).toBe(true);
  });

  itSharing(workerType)('lets a thread that ends loading as the pool is terminated start no task, or finish a started one’s finally', async () => {
    const path = join(dir, 'input');
    const marker = join(dir, 'closed');
    writeFileSync(path, 'x');
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const pool = createPool<StreamTask, number>(workerPath('heldInit.ts'), { size: 1, workerType, streamWindow: 16, gracePeriod: 20_000, workerData: gate });
    // A thread started with the pool takes its tasks while it loads.
    const running = pool.run({ kind: 'file', path, marker }).catch((error: unknown) => error);
    await until(() => Atomics.load(gate, 1) === 1, 10_000);
    // The worker is in init: the pool still counts it as loading when it is terminated.
    const terminated = pool.terminate();
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    // This thread's loop is held, so nothing the pool set to end the worker can run, until the
    // worker has started the task (a fault: it should take none) or for 1 s.
    const deadline = Date.now() + 1_000;
    while (!existsSync(`${marker}.open`) && Date.now() < deadline);
    await terminated;
    expect(await running).toMatchObject({ name: 'PoolClosedError' });
    await whenThreadsEnd(25_000);
    expect(threadResources()).toEqual([]);
    // A task the worker started had its finally run.
    expect({ started: existsSync(`${marker}.open`), closed: existsSync(marker) }).toEqual({ started: false, closed: false });
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

/** The peak RSS of process `pid` so far, in bytes, threads included (`VmHWM` in /proc/<pid>/status). */
function peakRssOf(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`/proc/${pid}/status has no VmHWM line`);
  return Number(kb) * 1024;
}

describeWithNats('streaming tasks with credits over NATS', () => {
  let server: NatsServer;
  const hosts: Host[] = [];
  let dir = '';
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'looppool-stream-'));
    server = await startNats();
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.kill()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * {@link slowSink} on a `looppool-worker` host of one thread started for it (a pool name of
   * its own), with the host process's peak RSS at the end: what its thread yielded and what it
   * relayed to the pool.
   */
  async function throughHost(count: number, tasks = 1): Promise<SlowSinkRun & { hostPeakRss: number }> {
    const pool = `stream${process.pid}n${hosts.length}`;
    const host = startHost(workerPath('stream.ts'), server.url, pool, ['--threads', '1'], smallHeaps);
    hosts.push(host);
    await host.printed(/serving pool/);
    const run = await slowSink({ servers: server.url, pool }, count, join(dir, 'pulled'), tasks);
    return { ...run, hostPeakRss: peakRssOf(host.child.pid!) };
  }

  it(`relays credits through the host: its thread runs ahead of a slow subscriber by at most streamWindow values, and the pool's and the host's memory stay flat over ${longRun.toLocaleString('en')} values`, async () => {
    const small = await throughHost(1_000);
    expect(small.taken).toBe(1_000);
    const large = await throughHost(longRun);
    expect(large.taken).toBe(longRun);
    expect(large.maxAhead).toBeLessThanOrEqual(defaultWindow);
    // It did run ahead: the window is what held it, not a worker slower than the sink.
    expect(large.maxAhead).toBeGreaterThan(defaultWindow / 2);
    expect(large.peakRss - small.peakRss).toBeLessThan(rssAllowance);
    expect(large.hostPeakRss - small.hostPeakRss).toBeLessThan(rssAllowance);
  }, 120_000);

  it('holds at most the window of each task when a host streams four at once to a slow subscriber', async () => {
    const run = await throughHost(50_000, 4);
    // Every value came: the server never dropped the pool as a slow consumer.
    expect(run.taken).toBe(200_000);
    expect(run.maxAhead).toBeLessThanOrEqual(defaultWindow);
    expect(run.maxAhead).toBeGreaterThan(defaultWindow / 2);
  }, 60_000);
});

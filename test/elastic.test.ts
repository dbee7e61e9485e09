import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { createPool, loopPool, WorkerCrashError, type LoopPool } from 'looppool';
import type { ElasticData, ElasticResult, ElasticTask } from './workers/elastic';
import { workerPath } from './support/paths';
import { startStatsd } from './support/statsdServer';
import { until } from './support/until';
import { workerTypes } from './support/workerTypes';

const elastic = workerPath('elastic.ts');

describe('size { min, max } and idleTimeout are checked at once', () => {
  it.each([
    [{ min: 2, max: 1 }, 'min 2 and max 1'],
    [{ min: -1, max: 2 }, 'min -1 and max 2'],
    [{ min: 0, max: 0 }, 'min 0 and max 0'],
    [{ min: 0.5, max: 2 }, 'min 0.5 and max 2'],
    [{ min: 1, max: Infinity }, 'min 1 and max Infinity'],
  ])('%p is a RangeError naming both', (size, got) => {
    for (const make of [() => loopPool(elastic, { size }), () => createPool(elastic, { size })]) {
      expect(make).toThrow(
        new RangeError(`Expected \`size.min\` and \`size.max\` to be integers with 0 <= min <= max and max >= 1, got ${got}`),
      );
    }
  });

  it('a size object without both bounds, or with another field, is a TypeError', () => {
    expect(() => loopPool(elastic, { size: { min: 1 } as never })).toThrow(
      new TypeError('Expected `size` to be { min, max } with two integers, got { min: 1 } (object)'),
    );
    expect(() => loopPool(elastic, { size: { min: 1, max: 2, idle: 5 } as never })).toThrow(
      new TypeError('Unknown field `size.idle`; expected { min, max }, got { min: 1, max: 2, idle: 5 } (object)'),
    );
  });

  it('idleTimeout: a non-negative integer of milliseconds, at most 2^31 - 1', () => {
    expect(() => loopPool(elastic, { size: { min: 0, max: 2 }, idleTimeout: 2 ** 31 })).toThrow(
      new RangeError(
        'Expected `idleTimeout` to be a non-negative integer of milliseconds, at most 2147483647 (2^31 - 1, the longest timer Node keeps; longer ones fire at once), got 2147483648 (number)',
      ),
    );
    expect(() => loopPool(elastic, { idleTimeout: -1 })).toThrow(RangeError);
    expect(() => loopPool(elastic, { idleTimeout: '10' as never })).toThrow(TypeError);
    expect(typeof loopPool(elastic, { size: { min: 0, max: 2 }, idleTimeout: 2 ** 31 - 1 })).toBe('function');
  });
});

describe.each(workerTypes)('an elastic pool of %s workers', (workerType) => {
  let pool: LoopPool<ElasticTask, ElasticResult> | undefined;
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  it('starts min workers; a task that waits while they are full starts another; idle ones stop down to min', async () => {
    pool = createPool<ElasticTask, ElasticResult>(elastic, { workerType, size: { min: 1, max: 3 }, queueSize: 0, idleTimeout: 100 });
    await pool.ready;
    expect(pool.stats()).toMatchObject({ size: 1, workers: [{ index: 0 }] });
    // Three tasks at once, one place per worker: the second and third start workers 1 and 2 at once.
    const burst = [0, 1, 2].map(() => pool!.run({ kind: 'who', ms: 300 }));
    expect(pool.size).toBe(3);
    expect(pool.stats().workers.map((worker) => worker.index)).toEqual([0, 1, 2]);
    await Promise.all(burst);
    await until(() => pool!.stats().size === 1, 15_000);
    // The first to have been idle for 100 ms stopped first: which one stays depends on when each ended.
    expect(pool.stats().workers).toMatchObject([{ restarts: 0 }]);
  });

  describe('while a new worker starts (workers other than 0 wait in init until told)', () => {
    let holdDir: string;
    beforeEach(() => (holdDir = mkdtempSync(join(tmpdir(), 'looppool-hold-'))));
    afterEach(async () => {
      await pool?.terminate(); // before the directory its workers look in goes
      rmSync(holdDir, { recursive: true, force: true });
    });
    const workerData = (): ElasticData => ({ holdDir });
    const release = (): void => writeFileSync(join(holdDir, 'open'), '');

    it('it is handed no task until it is ready: a running worker that frees a place runs them meanwhile', async () => {
      pool = createPool<ElasticTask, ElasticResult>(elastic, { workerType, size: { min: 1, max: 2 }, workerData: workerData() });
      await pool.ready;
      const runs = Array.from({ length: 6 }, () => pool!.run({ kind: 'who' }));
      // Worker 0 holds two tasks (one running, one at hand); the third found it full and started worker 1.
      expect(pool.size).toBe(2);
      expect(pool.stats().workers.find((worker) => worker.index === 1)).toMatchObject({ live: false, inFlight: 0, queued: 0 });
      // Worker 1 is still in init: every task ran on worker 0.
      expect((await Promise.all(runs)).map((result) => result.worker)).toEqual([0, 0, 0, 0, 0, 0]);
      release();
      await expect(pool.run({ kind: 'who' }, { worker: 1 })).resolves.toMatchObject({ worker: 1 });
      expect(pool.stats().workers.map((worker) => [worker.index, worker.live, worker.restarts])).toEqual([
        [0, true, 0],
        [1, true, 0],
      ]);
    });

    it('a pulled source grows the pool to max at once, not one worker per start', async () => {
      pool = createPool<ElasticTask, ElasticResult>(elastic, { workerType, size: { min: 1, max: 3 }, workerData: workerData() });
      await pool.ready;
      const inputs = Array.from({ length: 12 }, (): ElasticTask => ({ kind: 'who' }));
      const results = lastValueFrom(pool.process(inputs).pipe(toArray()));
      // Each input read beyond what worker 0 and the starting workers will hold started one more.
      expect(pool.size).toBe(3);
      expect(pool.stats().workers.filter((worker) => worker.live).map((worker) => worker.index)).toEqual([0]);
      release();
      expect(await results).toHaveLength(12);
    });

    it('a pushed source grows the pool to max at once too, though its inputs join a line that waits', async () => {
      pool = createPool<ElasticTask, ElasticResult>(elastic, { workerType, size: { min: 1, max: 3 }, workerData: workerData() });
      await pool.ready;
      const inputs = Array.from({ length: 12 }, (): ElasticTask => ({ kind: 'who' }));
      // All 12 are pushed at once: an elastic pool looks at each input that joins the line
      // (a fixed pool need not), and each beyond what worker 0 and the starting workers will hold starts one more.
      const results = lastValueFrom(from(inputs).pipe(loopPool(pool), toArray()));
      expect(pool.size).toBe(3);
      expect(pool.stats().workers.filter((worker) => worker.live).map((worker) => worker.index)).toEqual([0]);
      release();
      expect(await results).toHaveLength(12);
    });
  });

  it('put(x, { worker: i }) starts worker i; a worker started later replays the broadcasts first; none is a restart', async () => {
    pool = createPool<ElasticTask, ElasticResult>(elastic, { workerType, size: { min: 1, max: 4 }, idleTimeout: 60_000 });
    await pool.ready;
    const results: ElasticResult[] = [];
    pool.results$.subscribe((result) => results.push(result));
    await pool.broadcast({ kind: 'set', version: 7 }, { key: 'version' });
    await pool.broadcast({ kind: 'set', version: 8 }, { key: 'version' }); // replaces 7 in the history
    await expect(pool.run({ kind: 'who' }, { worker: 3 })).resolves.toMatchObject({ worker: 3, version: 8 });
    expect(pool.stats().workers.map((worker) => worker.index)).toEqual([0, 3]);
    // A broadcast reaches the live workers, each once; a replay's results are not delivered again.
    await pool.broadcast({ kind: 'set', version: 9 });
    expect(results.map((result) => [result.version, result.worker]).sort()).toEqual([
      [7, 0],
      [8, 0],
      [9, 0],
      [9, 3],
    ]);
    // Worker 1 starts for this put, replays the history (8, then 9) and runs it.
    await expect(pool.run({ kind: 'who' }, { worker: 1 })).resolves.toMatchObject({ worker: 1, version: 9 });
    expect(pool.stats().workers.map((worker) => [worker.index, worker.restarts])).toEqual([
      [0, 0],
      [1, 0],
      [3, 0],
    ]);
    expect(() => pool!.put({ kind: 'who' }, { worker: 4 })).toThrow(
      new RangeError('Expected `worker` to be an integer from 0 to 3, got 4 (number)'),
    );
  });

  it('min: 0 is ready at once with no worker; a crash of a worker started later is a restart, and it is replaced', async () => {
    pool = createPool<ElasticTask, ElasticResult>(elastic, { workerType, size: { min: 0, max: 2 }, retries: 0, idleTimeout: 60_000 });
    await pool.ready;
    expect(pool.stats()).toMatchObject({ size: 0, workers: [] });
    const errors: unknown[] = [];
    pool.errors$.subscribe((error) => errors.push(error));
    await expect(pool.run({ kind: 'exit' }, { worker: 1 })).rejects.toBeInstanceOf(WorkerCrashError);
    await expect(pool.run({ kind: 'who' }, { worker: 1 })).resolves.toMatchObject({ worker: 1 });
    expect(pool.stats().workers.map((worker) => [worker.index, worker.restarts])).toEqual([[1, 1]]);
    expect(errors).toHaveLength(2); // the task's error and the crash
  });

  it('as an operator from min: 0, every input gets its result; the workers stop with the subscription', async () => {
    // Every task waits until two workers have run one: the run ends only if the pool grew,
    // however long the second worker takes to boot.
    const dir = mkdtempSync(join(tmpdir(), 'looppool-elastic-'));
    const inputs = Array.from({ length: 40 }, () => ({ kind: 'meet', dir, workers: 2 }) as const);
    const results = await lastValueFrom(
      from(inputs).pipe(loopPool<ElasticTask, ElasticResult>(elastic, { workerType, size: { min: 0, max: 2 } }), toArray()),
    );
    rmSync(dir, { recursive: true });
    expect(results).toHaveLength(40);
    expect(new Set(results.map((result) => result.worker))).toEqual(new Set([0, 1]));
  });

  it('sends the live size to statsd as the workers gauge', async () => {
    const server = await startStatsd();
    try {
      pool = createPool<ElasticTask, ElasticResult>(elastic, {
        workerType,
        name: 'elastic',
        size: { min: 1, max: 2 },
        queueSize: 0,
        idleTimeout: 1_000, // so that 2 workers run for 1.2 s at least: many samples, even on a loaded machine
        metrics: { statsd: { host: '127.0.0.1', port: server.port }, interval: 50 },
      });
      await pool.ready;
      const gauge = async (): Promise<number | undefined> => (await server.gauges())['looppool.elastic.workers'];
      const burst = [0, 1].map(() => pool!.run({ kind: 'who', ms: 200 }));
      await until(async () => (await gauge()) === 2, 10_000);
      await Promise.all(burst);
      await until(async () => (await gauge()) === 1, 10_000);
      await pool.terminate();
    } finally {
      await server.stop();
    }
  });

  it('a script whose only pool has shrunk to min: 0 exits by itself', async () => {
    const child = spawn(process.execPath, [join(__dirname, 'support', 'elasticChild.js'), workerType], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: JSON.stringify({ ran: 0, size: 1 }) });
  });
});

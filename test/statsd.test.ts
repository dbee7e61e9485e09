import StatsD from 'hot-shots';
import { createPool, type LoopPool } from 'looppool';
import type { FaultTask } from './workers/faulty';
import { workerPath } from './support/paths';
import { startStatsd, type StatsdServer } from './support/statsdServer';
import { tally } from './support/tally';
import { until } from './support/until';
import { workerTypes } from './support/workerTypes';

const faulty = workerPath('faulty.ts');

/** Against a real statsd daemon, started here on 127.0.0.1 and read back through its management port. */
describe.each(workerTypes)('statsd metrics through hot-shots (%s workers)', (workerType) => {
  const counters = (): ReturnType<typeof tally> => tally(workerType, 64);
  /**
   * Blocked-loop warnings come from a heartbeat in shared memory: threads only. Worker 1's busy
   * task blocks its loop once; under load a loop may also be seen late a second time (a true
   * warning), so threads count at least one, processes none.
   */
  const blocked = (count: number | undefined): boolean => (workerType === 'thread' ? (count ?? 0) >= 1 : count === undefined);
  let server: StatsdServer;
  let pool: LoopPool<FaultTask, number> | undefined;
  beforeAll(async () => {
    server = await startStatsd();
  });
  afterAll(() => server.stop());
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  it('sends gauges, counters and timings under <prefix>.worker.<n>', async () => {
    pool = createPool<FaultTask, number>(faulty, {
      workerType,
      name: 'etl',
      size: 2,
      workerData: counters(),
      blockingThreshold: 100,
      metrics: { statsd: { host: '127.0.0.1', port: server.port }, interval: 100 },
    });
    await pool.ready;
    await Promise.all(Array.from({ length: 20 }, (_, id) => pool!.put({ id, fault: 'none' })));
    await pool.put({ id: 20, fault: 'throw' }).catch(() => {});
    await pool.put({ id: 21, fault: 'crash-once' }, { worker: 0 }); // one restart of worker 0
    await pool.put({ id: 22, fault: 'busy' }, { worker: 1 }); // one blocked-loop warning on worker 1 (a thread)
    const p = 'looppool.etl';
    const workerGauges = [0, 1].flatMap((n) =>
      ['elu', 'loop_delay.p50', 'loop_delay.p99', 'loop_delay.max', 'heap.used', 'heap.total', 'in_flight', 'queued'].map(
        (name) => `${p}.worker.${n}.${name}`,
      ),
    );
    // Counters arrive with each task; a worker's own figures with the next sample it answers
    // (every 100 ms here), which for the replaced worker 0 may come after its last task.
    // A failure says what the daemon held last, not only that the wait ran out.
    let seen = '';
    await until(async () => {
      const [c, g] = await Promise.all([server.counters(), server.gauges()]);
      const done = (c[`${p}.worker.0.done`] ?? 0) + (c[`${p}.worker.1.done`] ?? 0);
      const missing = workerGauges.filter((name) => !(name in g));
      seen = JSON.stringify({ done, blocked: c[`${p}.worker.1.blocked`], missing });
      return done === 22 && blocked(c[`${p}.worker.1.blocked`]) && missing.length === 0;
    }, 15_000).catch((error: Error) => {
      throw new Error(`${error.message}\nlast seen: ${seen}`);
    });
    const [gauges, counts, timers] = await Promise.all([server.gauges(), server.counters(), server.timers()]);
    for (const name of workerGauges) expect(gauges).toHaveProperty([name]);
    expect(gauges[`${p}.workers`]).toBe(2);
    expect(gauges[`${p}.worker.0.heap.used`]).toBeGreaterThan(0);
    for (const name of ['waiting', 'pending_results', 'cpu', 'rss', 'task_duration.p50', 'task_duration.p99']) {
      expect(gauges).toHaveProperty([`${p}.${name}`]);
    }
    expect((counts[`${p}.worker.0.failed`] ?? 0) + (counts[`${p}.worker.1.failed`] ?? 0)).toBe(1);
    expect(counts[`${p}.worker.0.restarts`]).toBe(1);
    expect(blocked(counts[`${p}.worker.1.blocked`])).toBe(true);
    expect(timers[`${p}.task_duration`]!.length).toBeGreaterThan(0);
  });

  it('uses a client it is given, under its prefix, and leaves it open', async () => {
    const client = new StatsD({ host: '127.0.0.1', port: server.port });
    try {
      pool = createPool<FaultTask, number>(faulty, {
        workerType,
        size: 1,
        workerData: counters(),
        metrics: { statsd: client, prefix: 'app.pool', interval: 100 },
      });
      await pool.put({ id: 0, fault: 'none' });
      await until(async () => (await server.counters())['app.pool.worker.0.done'] === 1);
      await pool.stop();
      client.increment('app.after_stop'); // still open
      await until(async () => (await server.counters())['app.after_stop'] === 1);
    } finally {
      await new Promise<void>((resolve) => client.close(() => resolve()));
    }
  });
});

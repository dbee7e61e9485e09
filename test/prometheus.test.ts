import { register, Registry } from 'prom-client';
import { createPool, type LoopPool } from 'looppool';
import { registerPoolMetrics } from 'looppool/prometheus';
import type { FaultTask } from './workers/faulty';
import { workerPath } from './support/paths';
import { tally } from './support/tally';

const faulty = workerPath('faulty.ts');

/** The samples of a scrape, `name{labels}` → value, and the names its `# TYPE` lines give, with their types. */
function parse(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    else if (line && !line.startsWith('#')) {
      const at = line.lastIndexOf(' ');
      samples.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
  }
  return { samples, types };
}

describe('registerPoolMetrics (looppool/prometheus)', () => {
  const pools: Array<LoopPool<FaultTask, number>> = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.terminate()));
  });
  const start = (name: string): LoopPool<FaultTask, number> => {
    const pool = createPool<FaultTask, number>(faulty, { name, size: 2, statsInterval: 50, workerData: tally('thread', 64) });
    pools.push(pool);
    return pool;
  };

  it("registers the pool's figures under Prometheus names, labelled by pool and worker, in the registry given", async () => {
    const registry = new Registry();
    const pool = start('etl');
    const unregister = registerPoolMetrics(pool, { registry });
    await pool.ready;
    for (let id = 0; id < 16; id++) await pool.put({ id, fault: 'none' });
    await pool.put({ id: 99, fault: 'throw' }).catch(() => {});
    // The workers' own figures come with the next sampling (every statsInterval while registered).
    let scrape = parse(await registry.metrics());
    while (!scrape.samples.has('looppool_worker_heap_used_bytes{pool="etl",worker="etl#1"}')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      scrape = parse(await registry.metrics());
    }
    const { samples, types } = scrape;
    expect(Object.fromEntries(types)).toEqual({
      looppool_tasks_total: 'counter',
      looppool_task_duration_seconds: 'histogram',
      looppool_workers: 'gauge',
      looppool_waiting_inputs: 'gauge',
      looppool_pending_results: 'gauge',
      looppool_dropped_inputs_total: 'counter',
      looppool_restarts_total: 'counter',
      looppool_worker_tasks_in_flight: 'gauge',
      looppool_worker_tasks_queued: 'gauge',
      looppool_worker_event_loop_utilization_ratio: 'gauge',
      looppool_worker_event_loop_delay_seconds: 'gauge',
      looppool_worker_heap_used_bytes: 'gauge',
      looppool_worker_heap_total_bytes: 'gauge',
    });
    const sum = (prefix: string): number => [...samples].filter(([key]) => key.startsWith(prefix)).reduce((total, [, value]) => total + value, 0);
    expect(sum('looppool_tasks_total{pool="etl",worker="etl#0",outcome="done"}') + sum('looppool_tasks_total{pool="etl",worker="etl#1",outcome="done"}')).toBe(16);
    expect(samples.get('looppool_tasks_total{pool="etl",worker="etl#0",outcome="failed"}')! + samples.get('looppool_tasks_total{pool="etl",worker="etl#1",outcome="failed"}')!).toBe(1);
    expect(samples.get('looppool_workers{pool="etl"}')).toBe(2);
    expect(samples.get('looppool_waiting_inputs{pool="etl"}')).toBe(0);
    expect(samples.get('looppool_pending_results{pool="etl"}')).toBe(16);
    expect(samples.get('looppool_restarts_total{pool="etl",worker="etl#0"}')).toBe(0);
    for (const worker of ['etl#0', 'etl#1']) {
      const elu = samples.get(`looppool_worker_event_loop_utilization_ratio{pool="etl",worker="${worker}"}`)!;
      expect(elu).toBeGreaterThanOrEqual(0);
      expect(elu).toBeLessThanOrEqual(1);
      expect(samples.get(`looppool_worker_event_loop_delay_seconds{pool="etl",worker="${worker}",quantile="0.99"}`)).toBeGreaterThanOrEqual(0);
      expect(samples.get(`looppool_worker_heap_used_bytes{pool="etl",worker="${worker}"}`)).toBeGreaterThan(1024 * 1024);
    }
    // One task in eight is timed: 17 tasks ended, 2 timed.
    expect(samples.get('looppool_task_duration_seconds_count{pool="etl"}')).toBe(2);
    expect(samples.get('looppool_task_duration_seconds_bucket{le="+Inf",pool="etl"}')).toBe(2);

    unregister();
    expect(await registry.metrics()).toBe('\n');
  });

  it('shares one registry between pools, and uses the default registry when none is given', async () => {
    const [a, b] = [start('a'), start('b')];
    const undo = [registerPoolMetrics(a), registerPoolMetrics(b)];
    await Promise.all([a.ready, b.ready]);
    await a.put({ id: 0, fault: 'none' });
    const { samples } = parse(await register.metrics());
    expect(samples.get('looppool_tasks_total{pool="a",worker="a#0",outcome="done"}')).toBe(1);
    expect(samples.get('looppool_workers{pool="b"}')).toBe(2);
    undo.forEach((u) => u());
    expect(register.getSingleMetric('looppool_workers')).toBeUndefined();
  });

  it('rejects what is not a pool', () => {
    expect(() => registerPoolMetrics({} as never)).toThrow(new TypeError('Expected a pool made by createPool(...), got [object Object]'));
  });
});

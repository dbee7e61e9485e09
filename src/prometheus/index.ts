/**
 * `looppool/prometheus`: a pool's figures in a prom-client `Registry`. prom-client is an
 * optional peer dependency, loaded when {@link registerPoolMetrics} is first called.
 *
 * @packageDocumentation
 */
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { durationFamily, families, familySpecs } from '../metrics/families';
import { monitorOf, type Monitor } from '../metrics/monitor';
import type { LoopPool } from '../poolApi';

/** Options of {@link registerPoolMetrics}. */
export interface PoolMetricsOptions {
  /** The registry to register the metrics in. @default prom-client's default `register` */
  registry?: Registry;
}

/** One registry's metrics, shared by every pool registered there (a name registers once). */
interface Registered {
  readonly monitors: Set<Monitor<unknown, unknown>>;
  readonly histogram: Histogram<'pool'>;
}

const registries = new WeakMap<Registry, Registered>();

/**
 * Registers a pool's figures in a prom-client `Registry`, read at each scrape: tasks by outcome
 * (`looppool_tasks_total`), task durations (`looppool_task_duration_seconds`), live workers,
 * waiting inputs, pending results, restarts, and each worker's event-loop utilization, loop
 * delay and heap, labelled with the pool's `name` (`pool`) and the worker's (`worker`, as
 * `etl#0`). Several pools may share a registry; give them distinct names. While registered,
 * the workers are measured every `statsInterval` ms. The metrics stay registered when the pool
 * stops (with its last figures) until the returned function is called.
 *
 * ```ts
 * import { register } from 'prom-client';
 * import { registerPoolMetrics } from 'looppool/prometheus';
 * const pool = createPool('./resize.worker.js', { name: 'resize' });
 * registerPoolMetrics(pool);
 * // GET /metrics: res.end(await register.metrics())
 * ```
 *
 * @returns a function that removes the pool from the registry (and the metrics, once no pool is left).
 * @throws TypeError if `pool` is not a pool made by `createPool`, or prom-client is not installed.
 */
export function registerPoolMetrics<T, R, O>(pool: LoopPool<T, R, O>, options: PoolMetricsOptions = {}): () => void {
  const monitor = monitorOf(pool);
  const client = promClient();
  const registry = options.registry ?? client.register;
  const registered = registries.get(registry) ?? register(client, registry);
  registered.monitors.add(monitor);
  const observe = (seconds: number): void => registered.histogram.observe({ pool: monitor.collector.name }, seconds);
  monitor.durationListeners.add(observe);
  const sampling = monitor.keepSampled();
  return () => {
    sampling.unsubscribe();
    monitor.durationListeners.delete(observe);
    registered.monitors.delete(monitor);
    if (registered.monitors.size > 0) return;
    registries.delete(registry);
    for (const { name } of [...familySpecs, durationFamily]) registry.removeSingleMetric(name);
  };
}

function register(client: typeof import('prom-client'), registry: Registry): Registered {
  const monitors = new Set<Monitor<unknown, unknown>>();
  const now = () => families([...monitors].map((monitor) => monitor.collector.snapshot()));
  for (const spec of familySpecs) {
    const read = () => now().find((family) => family.name === spec.name)!.samples;
    const common = { name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [registry] };
    if (spec.type === 'counter') {
      new client.Counter({
        ...common,
        collect(this: Counter) {
          this.reset();
          for (const { labels, value } of read()) this.inc(labels, value);
        },
      });
    } else {
      new client.Gauge({
        ...common,
        collect(this: Gauge) {
          this.reset();
          for (const { labels, value } of read()) this.set(labels, value);
        },
      });
    }
  }
  const histogram = new client.Histogram({
    name: durationFamily.name,
    help: durationFamily.help,
    labelNames: ['pool'],
    buckets: [...durationFamily.buckets],
    registers: [registry],
  });
  const registered = { monitors, histogram };
  registries.set(registry, registered);
  return registered;
}

/** prom-client, loaded on first use; an error that says to install it when it is missing. */
function promClient(): typeof import('prom-client') {
  try {
    return require('prom-client') as typeof import('prom-client');
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code !== 'MODULE_NOT_FOUND' || !String(message).includes("'prom-client'")) throw error;
    throw new TypeError("registerPoolMetrics needs the package 'prom-client', which is not installed: run `npm install prom-client`", {
      cause: error,
    });
  }
}

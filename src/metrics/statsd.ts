import type { PoolStats } from './stats';

/**
 * What the pool uses of a statsd client: a hot-shots `StatsD` client is one. Declared here
 * so that looppool's types do not need hot-shots, an optional peer dependency.
 */
export interface StatsdClient {
  /** Sends a gauge. */
  gauge(stat: string, value: number): void;
  /** Adds to a counter. */
  increment(stat: string, value: number): void;
  /** Sends a timing in milliseconds, sampled at `sampleRate`. */
  timing(stat: string, value: number, sampleRate: number): void;
  /** Closes the client's socket. */
  close(callback: (error?: Error) => void): void;
}

/**
 * Options of hot-shots' `new StatsD(options)` (its `ClientOptions`: `host`, `port`,
 * `protocol`, `globalTags`, ...), passed on as they are. Typed loosely so that looppool's
 * types do not need hot-shots; write `{ host, port } satisfies ClientOptions` to have them
 * checked.
 */
export type StatsdClientOptions = object;

/** Where and how often the pool sends its figures to statsd. */
export interface MetricsOptions {
  /**
   * A statsd client, such as a hot-shots `StatsD` (the pool uses it and leaves it open), or
   * hot-shots options to create one (closed when the pool stops); creating one needs the
   * `hot-shots` package installed beside looppool.
   */
  statsd: StatsdClient | StatsdClientOptions;
  /**
   * Metric names start with it: `<prefix>.worker.<n>.elu`.
   * @default `looppool.<name>`
   */
  prefix?: string;
  /**
   * Milliseconds between two sends.
   * @default statsInterval
   */
  interval?: number;
}

/**
 * Sends a pool's figures to statsd through hot-shots: gauges for levels, counters for what
 * happened since the last send, and timings for task durations. Metric names, under
 * `<prefix>` (default `looppool.<pool name>`):
 *
 * ```
 * <prefix>.workers  .waiting  .pending_results  .cpu  .rss         gauges
 * <prefix>.task_duration.p50  .task_duration.p99                   gauges (ms)
 * <prefix>.task_duration                                           timings (ms), sampled
 * <prefix>.dropped                                                 counter
 * <prefix>.worker.<n>.elu  .loop_delay.p50  .loop_delay.p99  .loop_delay.max
 * <prefix>.worker.<n>.heap.used  .heap.total  .in_flight  .queued  gauges
 * <prefix>.worker.<n>.done  .failed  .restarts  .blocked           counters
 * ```
 */
export class StatsdReporter {
  private readonly client: StatsdClient;
  /** Whether the client is ours to close. */
  private readonly owned: boolean;
  readonly prefix: string;
  /** Totals at the previous send, to send counters as increments. */
  private previous = new Map<string, number>();

  constructor(options: Readonly<MetricsOptions>, poolName: string) {
    this.owned = !isClient(options.statsd);
    this.client = isClient(options.statsd) ? options.statsd : createClient(options.statsd);
    this.prefix = options.prefix ?? `looppool.${poolName}`;
  }

  /** Sends one snapshot, with a sample of the task durations it covers (`kept` of `total`). */
  send(stats: PoolStats, durations: { readonly kept: readonly number[]; readonly total: number }): void {
    const p = this.prefix;
    this.gauge(`${p}.workers`, stats.size);
    this.gauge(`${p}.waiting`, stats.waiting);
    this.gauge(`${p}.pending_results`, stats.pendingResults);
    this.gauge(`${p}.cpu`, stats.cpu);
    this.gauge(`${p}.rss`, stats.rss);
    this.gauge(`${p}.task_duration.p50`, stats.taskDuration.p50);
    this.gauge(`${p}.task_duration.p99`, stats.taskDuration.p99);
    this.increment(`${p}.dropped`, stats.dropped);
    const rate = durations.total > 0 ? durations.kept.length / durations.total : 1;
    for (const ms of durations.kept) this.client.timing(`${p}.task_duration`, ms, rate);
    for (const worker of stats.workers) {
      const w = `${p}.worker.${worker.index}`;
      if (worker.elu !== undefined) this.gauge(`${w}.elu`, worker.elu);
      if (worker.loopDelay) {
        this.gauge(`${w}.loop_delay.p50`, worker.loopDelay.p50);
        this.gauge(`${w}.loop_delay.p99`, worker.loopDelay.p99);
        this.gauge(`${w}.loop_delay.max`, worker.loopDelay.max);
      }
      if (worker.heapUsed !== undefined) this.gauge(`${w}.heap.used`, worker.heapUsed);
      if (worker.heapTotal !== undefined) this.gauge(`${w}.heap.total`, worker.heapTotal);
      this.gauge(`${w}.in_flight`, worker.inFlight);
      this.gauge(`${w}.queued`, worker.queued);
      this.increment(`${w}.done`, worker.done);
      this.increment(`${w}.failed`, worker.failed);
      this.increment(`${w}.restarts`, worker.restarts);
    }
  }

  /** Counts one blocked-loop warning of worker `index`. */
  blocked(index: number): void {
    this.client.increment(`${this.prefix}.worker.${index}.blocked`, 1);
  }

  /** Closes the client if the pool created it; a client the user passed stays open. */
  close(): Promise<void> {
    if (!this.owned) return Promise.resolve();
    return new Promise((resolve) => this.client.close(() => resolve()));
  }

  private gauge(name: string, value: number): void {
    this.client.gauge(name, Math.round(value * 1000) / 1000);
  }

  /** Sends the growth of a total since the previous send, as a counter. */
  private increment(name: string, total: number): void {
    const delta = total - (this.previous.get(name) ?? 0);
    this.previous.set(name, total);
    if (delta > 0) this.client.increment(name, delta);
  }
}

function isClient(statsd: MetricsOptions['statsd']): statsd is StatsdClient {
  return typeof (statsd as Partial<StatsdClient>).gauge === 'function';
}

/** A hot-shots client made from its options. */
function createClient(options: object): StatsdClient {
  const StatsD = hotShots();
  return new StatsD(options);
}

/**
 * hot-shots' `StatsD` class. hot-shots is an optional peer dependency, loaded only when
 * `metrics.statsd` is options rather than a client; when it is not installed this throws an
 * error that says so. Option validation calls it, so that `createPool` fails before it starts
 * any worker.
 */
export function hotShots(): new (options: object) => StatsdClient {
  try {
    return require('hot-shots') as new (options: object) => StatsdClient;
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code !== 'MODULE_NOT_FOUND' || !String(message).includes("'hot-shots'")) throw error;
    throw new Error(
      "`metrics.statsd` was given hot-shots options, so looppool creates a hot-shots client, but the package 'hot-shots' " +
        'is not installed: run `npm install hot-shots`, or pass a client of your own as `metrics.statsd`',
      { cause: error },
    );
  }
}

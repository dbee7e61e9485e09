import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { WorkerSample } from '../transport/transport';

/** Event-loop delay percentiles of a worker, in milliseconds. */
export interface LoopDelay {
  /** Median. */
  readonly p50: number;
  /** 99th percentile. */
  readonly p99: number;
  /** Longest delay seen. */
  readonly max: number;
}

/** The figures of one worker. */
export interface WorkerStats {
  /** The worker's position in the pool, 0 to `size - 1` (`max - 1` for an elastic pool); a replacement keeps it. */
  readonly index: number;
  /** `<pool name>#<index>`. */
  readonly name: string;
  /** Tasks running on the worker; at most `concurrency`. */
  readonly inFlight: number;
  /** Tasks handed to the worker and waiting there for a free place; at most `queueSize`. */
  readonly queued: number;
  /** Tasks for this worker alone (targeted puts, broadcasts) not yet handed over. */
  readonly waiting: number;
  /** Tasks that completed on this worker, since the pool started. */
  readonly done: number;
  /** Tasks that failed on this worker (for good, after retries), since the pool started. */
  readonly failed: number;
  /** Times the worker was replaced after a crash. */
  readonly restarts: number;
  /** The worker has run `init` and has not ended since (false while it starts or is replaced). */
  readonly live: boolean;
  /** Where a remote worker runs (`hostname:pid` of its `looppool-worker` host); undefined for a local one. */
  readonly host: string | undefined;
  /** Event-loop utilization, 0 to 1, since the previous sample; undefined for inline workers. */
  readonly elu: number | undefined;
  /** Event-loop delay since the previous sample; undefined until the worker has reported. */
  readonly loopDelay: LoopDelay | undefined;
  /** V8 heap of the worker, in bytes; undefined until the worker has reported. */
  readonly heapUsed: number | undefined;
  /** V8 heap the worker has reserved, in bytes; undefined until the worker has reported. */
  readonly heapTotal: number | undefined;
}

/** A snapshot of a pool, from `pool.stats()`, `pool.stats$` or `onStats`. */
export interface PoolStats {
  /** The pool's `name`. */
  readonly name: string;
  /** When the snapshot was taken (`Date.now()`). */
  readonly time: number;
  /** Workers running now (or starting); for an elastic pool, between `min` and `max`. */
  readonly size: number;
  /** Each running worker's own figures, by index (an elastic pool's list has gaps where no worker runs). */
  readonly workers: readonly WorkerStats[];
  /** Inputs not yet handed to a worker (puts and pipelines). Unbounded for pushed sources without `overflow`. */
  readonly waiting: number;
  /** Results produced and not yet consumed from `results$`. */
  readonly pendingResults: number;
  /** Inputs dropped by an `overflow` strategy, since the pool started. */
  readonly dropped: number;
  /** CPU time of the whole process (every thread) since the previous sample, in % of one core. */
  readonly cpu: number;
  /** Resident set size of the process, in bytes. */
  readonly rss: number;
  /**
   * Tasks that ended since the previous sample (`count`), and their duration from start on a
   * worker to the end, in milliseconds (percentiles of one task in eight).
   */
  readonly taskDuration: {
    /** Median duration, in milliseconds. */
    readonly p50: number;
    /** 99th percentile, in milliseconds. */
    readonly p99: number;
    /** Tasks that ended since the previous sample. */
    readonly count: number;
  };
}

/** What the collector reads of the engine. */
export interface StatsSource {
  readonly size: number;
  readonly waiting: number;
  readonly dropped: number;
  load(): ReadonlyArray<Omit<WorkerStats, 'name' | 'elu' | 'loopDelay' | 'heapUsed' | 'heapTotal'>>;
  sampleWorkers(): Promise<WorkerSample[]>;
}

/** How many task durations per sample are kept to send as statsd timings. */
const keptDurations = 100;

/**
 * Builds {@link PoolStats}: the engine's counts, each worker's own figures (loop delay, heap)
 * and event-loop utilization, task durations, and the process's CPU and RSS. `sample()`
 * measures afresh and starts a new interval; `snapshot()` reads without measuring.
 */
export class StatsCollector {
  /** Task durations of the current interval (of the tasks timed), in microseconds. */
  private readonly durations: RecordableHistogram = createHistogram();
  /** Tasks that ended in the current interval, timed or not. */
  private ended = 0;
  /** A few durations of the current interval (ms), for statsd timings; at most {@link keptDurations}. */
  private kept: number[] = [];
  /** Each worker's latest sample. */
  private latest: WorkerSample[] = [];
  private cpuSince = process.cpuUsage();
  private cpuSinceTime = performance.now();
  /** Durations recorded in the interval last sampled. */
  private lastTotal = 0;

  constructor(
    private readonly source: StatsSource,
    readonly name: string,
    private readonly pendingResults: () => number,
  ) {}

  /** A task ended; `ms` is its duration if it was timed. */
  taskEnded(ms: number | undefined): void {
    this.ended++;
    if (ms === undefined) return;
    this.durations.record(Math.max(1, Math.round(ms * 1000)));
    // Keep a fair sample for timings: each new duration replaces a kept one with probability kept / seen.
    if (this.kept.length < keptDurations) this.kept.push(ms);
    else if (Math.random() * this.durations.count < keptDurations) this.kept[Math.floor(Math.random() * keptDurations)] = ms;
  }

  /** The durations kept for timings in the interval just sampled, and how many there were in all. */
  takeDurations(): { readonly kept: readonly number[]; readonly total: number } {
    const kept = this.kept;
    this.kept = [];
    return { kept, total: this.lastTotal };
  }

  /** Measures every worker now, and returns stats for the interval since the previous sample. */
  async sample(): Promise<PoolStats> {
    this.latest = await this.source.sampleWorkers();
    const stats = this.snapshot();
    this.lastTotal = this.durations.count;
    this.durations.reset();
    this.ended = 0;
    this.cpuSince = process.cpuUsage();
    this.cpuSinceTime = performance.now();
    return stats;
  }

  /** Counts now, with each worker's figures as last sampled. */
  snapshot(): PoolStats {
    const load = this.source.load();
    const cpu = process.cpuUsage(this.cpuSince);
    const elapsedMs = performance.now() - this.cpuSinceTime;
    const timed = this.durations.count;
    return {
      name: this.name,
      time: Date.now(),
      size: this.source.size,
      workers: load.map((worker) => {
        const sample = this.latest[worker.index];
        return {
          ...worker,
          name: `${this.name}#${worker.index}`,
          elu: sample?.elu,
          loopDelay: sample?.figures?.loopDelay,
          heapUsed: sample?.figures?.heapUsed,
          heapTotal: sample?.figures?.heapTotal,
        };
      }),
      waiting: this.source.waiting,
      pendingResults: this.pendingResults(),
      dropped: this.source.dropped,
      cpu: elapsedMs > 0 ? ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100 : 0,
      rss: process.memoryUsage.rss(),
      taskDuration: {
        p50: timed > 0 ? this.durations.percentile(50) / 1000 : 0,
        p99: timed > 0 ? this.durations.percentile(99) / 1000 : 0,
        count: this.ended,
      },
    };
  }
}

/** Upper bounds of the task-duration buckets, in seconds (Prometheus `le`). */
export const durationBuckets: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Cumulative counts of task durations per bucket, since the pool started, as Prometheus reads a histogram. */
export interface DurationCounts {
  /** Durations at most `durationBuckets[i]`, by `i`; the last entry is `+Inf` (every duration). */
  readonly buckets: readonly number[];
  /** Sum of the durations, in seconds. */
  readonly sum: number;
  /** Durations counted. */
  readonly count: number;
}

/**
 * Task durations since the pool started, in {@link durationBuckets}: what `/metrics` serves as
 * `looppool_task_duration_seconds`. Only the tasks the pool times (one in eight) are counted.
 */
export class DurationHistogram {
  /** Durations per bucket (not cumulative); the last is above every bound. Fixed length. */
  private readonly counts = new Array<number>(durationBuckets.length + 1).fill(0);
  private sum = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < durationBuckets.length && seconds > durationBuckets[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
  }

  read(): DurationCounts {
    let running = 0;
    const buckets = this.counts.map((count) => (running += count));
    return { buckets, sum: this.sum, count: running };
  }
}

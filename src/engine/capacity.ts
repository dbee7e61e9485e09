/**
 * How far ahead an adaptive worker is fed: the tasks it ends in its port's `handAheadMs`
 * at the rate it last ended them, from `least` (the `queueSize` default, `concurrency`) to
 * {@link mostAhead}. The rate is taken over every {@link sampleEvery} tasks that end.
 */
export const mostAhead = 1_024;
/** Tasks that end between two measures of a worker's rate. */
export const sampleEvery = 64;

/**
 * The tasks one worker may hold: `concurrency` running plus the tasks at hand behind them.
 * With an explicit `queueSize`, exactly `concurrency + queueSize`. Left to adapt, the tasks at
 * hand cover `windowMs` of the worker's work at its last rate (a round trip and the batching
 * of both ends), so that tiny tasks travel in large batches and a worker never waits for the
 * next one; slow tasks keep the least, so that uneven work still spreads over the workers.
 *
 * ```
 * 30 µs tasks, windowMs 4:  ahead = 4 / 0.030 ≈ 133      5 ms tasks: ahead = least
 * ```
 */
export class Capacity {
  /** Tasks at hand beyond those running: `least` until the first measure, then adapted; at most {@link mostAhead}. */
  private ahead: number;
  /** Tasks ended since the last measure; below {@link sampleEvery}. */
  private ended = 0;
  /** When the last measure was taken (`performance.now()`), or -1 before the first task ends. */
  private since = -1;

  /**
   * @param least the tasks at hand with an explicit `queueSize`, or the least when adapting
   * @param windowMs the milliseconds of work to keep at hand, or undefined to keep exactly `least`
   * @param now the clock, in milliseconds
   */
  constructor(
    private readonly concurrency: number,
    private readonly least: number,
    private readonly windowMs: number | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.ahead = least;
  }

  /** The most tasks the worker may hold now. */
  get limit(): number {
    return this.concurrency + this.ahead;
  }

  /** A task ended on the worker: every {@link sampleEvery} ends, the rate is measured again. */
  taskEnded(): void {
    if (this.windowMs === undefined) return;
    if (this.since < 0) {
      this.since = this.now();
      return;
    }
    if (++this.ended < sampleEvery) return;
    const now = this.now();
    const perMs = this.ended / Math.max(now - this.since, 0.001);
    this.ahead = Math.min(mostAhead, Math.max(this.least, Math.round(perMs * this.windowMs)));
    this.ended = 0;
    this.since = now;
  }
}

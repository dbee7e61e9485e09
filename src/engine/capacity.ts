/**
 * How far ahead an adaptive worker is fed: the tasks it ends in its port's `handAheadMs`
 * at the rate it last ended them, from `least` (the `queueSize` default, `concurrency`) to
 * {@link mostAhead}. The rate is taken over every {@link sampleEvery} tasks that end.
 */
export const mostAhead = 1_024;
/** Tasks that end between two measures of a worker's rate. */
export const sampleEvery = 64;
/**
 * Bytes an adaptive worker may hold beyond its least ({@link weigh}): past them, no more tasks
 * are handed ahead, so that 1,024 large inputs are not all in flight at once.
 */
export const mostBytes = 8 * 1024 * 1024;
/** Values of a plain object or array looked into by {@link weigh}. */
const weighedFields = 16;

/**
 * The tasks one worker may hold: `concurrency` running plus the tasks at hand behind them.
 * With an explicit `queueSize`, exactly `concurrency + queueSize`. Left to adapt, the tasks at
 * hand cover `windowMs` of the worker's work at its last rate (a round trip and the batching
 * of both ends), so that tiny tasks travel in large batches and a worker never waits for the
 * next one; slow tasks keep the least, so that uneven work still spreads over the workers.
 * Past the least, large inputs stop the handing ahead at {@link mostBytes}.
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
  /** The {@link weigh}ed bytes of the tasks the worker holds, when adapting. */
  private bytes = 0;

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

  /**
   * Whether a worker that holds `held` tasks may take one more: below {@link limit}, and,
   * past the least, while the tasks it holds weigh less than {@link mostBytes}.
   */
  hasRoom(held: number): boolean {
    if (held < this.concurrency + this.least) return true;
    return held < this.limit && this.bytes < mostBytes;
  }

  /** A task was handed over; its input's {@link weigh}t, when adapting, is returned to give back at its end. */
  taken(input: unknown): number {
    if (this.windowMs === undefined) return 0;
    const bytes = weigh(input);
    this.bytes += bytes;
    return bytes;
  }

  /** A task the worker held ended (`bytes` as {@link taken} returned): every {@link sampleEvery} ends, the rate is measured again. */
  taskEnded(bytes = 0): void {
    if (this.windowMs === undefined) return;
    this.bytes = Math.max(0, this.bytes - bytes);
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

/**
 * A cheap estimate of what an input weighs in flight, in bytes: a string's length, the
 * `byteLength` of an ArrayBuffer, typed array, DataView or Buffer, and of those among the first
 * 16 values of a plain object or array (one level deep). Anything else weighs 0: numbers and
 * small records are not what fills memory, and a deeper walk would cost more than the task.
 */
export function weigh(input: unknown): number {
  const own = weighOne(input);
  if (own >= 0) return own;
  if (input === null || typeof input !== 'object') return 0;
  let bytes = 0;
  let seen = 0;
  if (Array.isArray(input)) {
    for (let i = 0; i < input.length && i < weighedFields; i++) bytes += Math.max(0, weighOne(input[i]));
    return bytes;
  }
  const proto = Object.getPrototypeOf(input) as unknown;
  if (proto !== Object.prototype && proto !== null) return 0;
  for (const key in input) {
    if (++seen > weighedFields) break;
    bytes += Math.max(0, weighOne((input as Record<string, unknown>)[key]));
  }
  return bytes;
}

/** The bytes of a string or binary value, or -1 for anything else. */
function weighOne(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value.byteLength;
  if (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer) return 0; // shared, not copied
  return -1;
}

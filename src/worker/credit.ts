/**
 * The worker side of one task's credits (`streamWindow`): how many more values the task may
 * send before the pool has heard that its consumer took the earlier ones.
 *
 * A task starts with `window` credits; each value sent spends one, and the pool grants them
 * back in batches as its consumer takes values (`[credit, id, n]`). So the values sent and
 * not yet taken never exceed the window. An AsyncIterable is pulled only while credit is left
 * ({@link whenAvailable}); an Observable cannot be paused, so its values past the window wait
 * here, at most `buffer` of them ({@link hold} says when one more does not fit).
 *
 * ```
 * window 4:  sent   1 2 3 4 . . . . 5 6 . . 7 8
 * consumer:  took       1 2 . . 3 4         (grants of 2)
 * generator: pulled 1 2 3 4 waits . 5 6 waits 7 8
 * ```
 */
export class StreamCredit<R> {
  /** Values the task may still send; Infinity when unpaced. */
  private left: number;
  /** Values of an Observable that arrived without credit, oldest first from `first`; at most `buffer`. */
  private held: R[] = [];
  /** Index in `held` of the oldest value still waiting. */
  private first = 0;
  /** Called once credit is there again: the pull of an AsyncIterable that waits for it. */
  private resume: (() => void) | undefined;

  constructor(
    window: number,
    /** Values an Observable task may have waiting here; one more fails it. */
    private readonly buffer: number,
  ) {
    this.left = window;
  }

  /** Whether a value may be sent now (one credit is spent by {@link spend}). */
  get available(): boolean {
    return this.left > 0 && this.waiting === 0;
  }

  /** Values waiting here for credit. */
  get waiting(): number {
    return this.held.length - this.first;
  }

  /** Counts a value sent. */
  spend(): void {
    this.left--;
  }

  /** Keeps a value that came without credit; false if `buffer` values already wait (the task must fail). */
  hold(value: R): boolean {
    if (this.waiting >= this.buffer) return false;
    this.held.push(value);
    return true;
  }

  /** Calls `resume` once credit is there (now, if it is). */
  whenAvailable(resume: () => void): void {
    if (this.available) resume();
    else this.resume = resume;
  }

  /**
   * Adds `n` credits and sends what waited: `send` gets each held value that now has credit.
   * @returns true once nothing waits here any more.
   */
  grant(n: number, send: (value: R) => void): boolean {
    this.left += n;
    while (this.first < this.held.length && this.left > 0) {
      this.left--;
      send(this.held[this.first++]!);
    }
    if (this.first === this.held.length) {
      this.held = [];
      this.first = 0;
    } else if (this.first > this.held.length / 2) {
      this.held = this.held.slice(this.first);
      this.first = 0;
    }
    if (this.waiting > 0) return false;
    const resume = this.resume;
    this.resume = undefined;
    if (this.left > 0) resume?.();
    else this.resume = resume;
    return true;
  }

  /** Drops what waits: the task was cancelled. */
  clear(): void {
    this.held = [];
    this.first = 0;
    this.resume = undefined;
  }
}

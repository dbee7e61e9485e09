/**
 * How late a periodic check runs: the time this process's own event loop was blocked since the
 * last check, beyond the check's interval. A pool or a host adds it to the last time it heard
 * each peer before it measures their silence: while its loop was blocked (encoding a large
 * batch, a busy producer), what the peer sent waited unread in the socket, so that time is not
 * the peer's silence. Without it, a host that spent 3 s encoding a burst of 40 MB of results
 * counted its pool silent and stopped the pool's worker as the pool's heartbeats sat unread.
 */
export class LoopClock {
  /** Lateness below this (ms) is the scheduling jitter of a busy machine, not a blocked loop, and counts as none. */
  static readonly blockedAfter = 250;

  /** When the last check ran (`performance.now()`). */
  private last = performance.now();

  constructor(private readonly interval: number) {}

  /** Call at each check: ms the loop was blocked past `interval` since the last call (0 below {@link blockedAfter}). */
  lateness(): number {
    const now = performance.now();
    const late = now - this.last - this.interval;
    this.last = now;
    return late >= LoopClock.blockedAfter ? late : 0;
  }
}

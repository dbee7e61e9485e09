/** Counts worker restarts in a sliding window, so that a worker that keeps crashing stops being restarted. */
export class RestartBudget {
  /** When each restart within the window happened (ms), oldest first; at most `limit`. */
  private readonly times: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Takes one restart at time `now`; false when `limit` restarts already happened within the window. */
  take(now: number): boolean {
    while (this.times.length > 0 && this.times[0]! <= now - this.windowMs) this.times.shift();
    if (this.times.length >= this.limit) return false;
    this.times.push(now);
    return true;
  }
}

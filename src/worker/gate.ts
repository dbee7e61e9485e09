import { Queue } from '../engine/queue';
import { noop } from '../noop';

/** A task waiting at the gate; `withdrawn` once it no longer wants to start. */
interface Waiting {
  readonly start: () => void;
  withdrawn: boolean;
}

/**
 * Lets at most `limit` tasks run at once on a worker; the others wait their turn, in order.
 * The worker side of `concurrency`: the main thread sends up to `concurrency + queueSize`
 * tasks, so the next task is already at the worker when one finishes.
 */
export class ConcurrencyGate {
  /** Tasks running; never above `limit`. */
  private active = 0;
  /** Tasks sent and not yet started, in arrival order; at most `queueSize`. */
  private readonly waiting = new Queue<Waiting>();

  constructor(private readonly limit: number) {}

  /**
   * Calls `start` now if fewer than `limit` tasks run, or when one finishes.
   * @returns a function that withdraws the task if it has not started yet.
   */
  enter(start: () => void): () => void {
    if (this.active < this.limit) {
      this.active++;
      start();
      return noop;
    }
    const entry: Waiting = { start, withdrawn: false };
    this.waiting.push(entry);
    return () => void (entry.withdrawn = true);
  }

  /** A task that started has finished: the next one waiting starts. */
  leave(): void {
    this.active--;
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
      if (next.withdrawn) continue;
      this.active++;
      next.start();
      return;
    }
  }
}

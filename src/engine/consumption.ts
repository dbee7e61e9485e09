import type { Delivery } from '../results';
import { noReceipt, type Receipt } from './credit';

/**
 * Results produced and not yet consumed, against `bufferSize`: what manual acks and the
 * pool's result buffer share. A result counts from when it is produced until it is consumed:
 * emitted (`ack: 'auto'`), or acknowledged with `done()` (`ack: 'manual'`). While it counts
 * and tasks run, no new task starts past the bound, so memory stays within `bufferSize`.
 */
export class Consumption {
  /** Results produced and not yet consumed; with the running tasks, at most `bound` before no task may start. */
  private unconsumed = 0;

  constructor(
    /** Results (and running tasks, each holding a place for its result) allowed at once: `bufferSize`. */
    private readonly bound: number,
    /** Called when a result has been consumed, so that waiting tasks may start. */
    private readonly onConsumed: () => void,
  ) {}

  /** Results produced and not yet consumed. */
  get pending(): number {
    return this.unconsumed;
  }

  /** Whether one more task may start while `running` tasks each hold a place for their result. */
  mayStart(running: number): boolean {
    return this.unconsumed + running < this.bound;
  }

  /** Counts a result produced; it counts until {@link consumed}. */
  produced(): void {
    this.unconsumed++;
  }

  /** Counts a result consumed, and lets waiting tasks start. */
  consumed(): void {
    this.unconsumed--;
    this.onConsumed();
  }

  /** Counts a result produced, as a `Delivery` whose `done()` counts it consumed (and takes its receipt), once. */
  delivery<R>(value: R, worker: number, receipt: Receipt = noReceipt): Delivery<R> {
    this.produced();
    let done = false;
    return {
      value,
      worker,
      done: () => {
        if (done) return;
        done = true;
        receipt.taken();
        this.consumed();
      },
    };
  }
}

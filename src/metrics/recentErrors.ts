import type { LoopPoolError } from '../errors';

/** The errors a pool reported in the last minute, and the last one, as `looppool top` shows them. */
export interface ErrorSummary {
  /** Errors reported (`errors$`) in the last 60 s. */
  readonly lastMinute: number;
  /** The last error reported, if any. */
  readonly last:
    | {
        /** The error's class name, as `TaskError`. */
        readonly name: string;
        /** Its message. */
        readonly message: string;
        /** When it was reported (`Date.now()`). */
        readonly time: number;
      }
    | undefined;
}

/** Remembers when each error of the last minute was reported, and the last one. */
export class RecentErrors {
  /** Report times (`Date.now()`) of the last minute, oldest first; trimmed on each note and read. */
  private readonly times: number[] = [];
  private last: ErrorSummary['last'];

  note(error: LoopPoolError, now = Date.now()): void {
    this.times.push(now);
    this.trim(now);
    this.last = { name: error.name, message: error.message, time: now };
  }

  read(now = Date.now()): ErrorSummary {
    this.trim(now);
    return { lastMinute: this.times.length, last: this.last };
  }

  private trim(now: number): void {
    let old = 0;
    while (old < this.times.length && this.times[old]! <= now - 60_000) old++;
    if (old > 0) this.times.splice(0, old);
  }
}

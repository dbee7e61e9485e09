import { StalledSinkWarning } from '../errors';

/** How a buffer with manual acks reports a sink that holds every place. */
export interface StallSettings {
  /** Milliseconds every place may stay taken before the warning (`stallThreshold`). */
  readonly threshold: number;
  /** Where the warning goes: `errors$` and `onError`, or a process warning. */
  readonly warn: (warning: StalledSinkWarning) => void;
}

/**
 * Watches one buffer of deliveries (`ack: 'manual'`): when all `bufferSize` places have been
 * taken by deliveries not yet `done()` for `threshold` ms, no task can start, and the sink
 * may be waiting for rows that wait for it (a commit every N rows, N above `bufferSize`). It
 * warns once, with {@link StalledSinkWarning}; and once more if a drain then waits on them
 * (inputs taken wait to start).
 */
export class StallWatch {
  /** When every place became taken (performance.now()); undefined while one is free. */
  private fullSince: number | undefined;
  /** Fires `threshold` ms after the buffer became full; cleared when a place frees. */
  private timer: NodeJS.Timeout | undefined;
  /** Set once a drain has begun: a stall is then reported as the drain waiting. */
  private draining = false;
  /** The warnings already given: at most one of each kind. */
  private warnedStall = false;
  private warnedDrain = false;

  constructor(
    private readonly bufferSize: number,
    private readonly settings: StallSettings,
    /** Deliveries handed to the sink and not yet done. */
    private readonly outstanding: () => number,
    /** Inputs taken that wait to start: what a drain waits for. */
    private readonly waiting: () => number,
  ) {}

  /** The count of outstanding deliveries changed. */
  changed(): void {
    if (this.outstanding() < this.bufferSize) {
      this.fullSince = undefined;
      this.clear();
      return;
    }
    this.fullSince ??= performance.now();
    if (this.timer || this.warnedDrain || (this.warnedStall && !this.draining)) return;
    const wait = Math.max(0, this.settings.threshold - (performance.now() - this.fullSince));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.report();
    }, wait);
    this.timer.unref(); // a warning never keeps the process alive
  }

  /** A drain began: if it waits on a sink that has held every place past the threshold, say so now; else when it has. */
  drain(): void {
    this.draining = true;
    this.clear();
    this.changed();
  }

  /** The buffer ended: nothing more to watch. */
  stop(): void {
    this.clear();
    this.fullSince = undefined;
  }

  private report(): void {
    if (this.fullSince === undefined) return;
    if (this.draining && this.waiting() === 0) return; // the drain waits for nothing the sink holds back
    if (this.draining) this.warnedDrain = true;
    else this.warnedStall = true;
    const outstanding = this.outstanding();
    this.settings.warn(new StalledSinkWarning(this.bufferSize, outstanding, performance.now() - this.fullSince, this.draining));
  }

  private clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

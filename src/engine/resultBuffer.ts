import { Observable, type Subscriber } from 'rxjs';
import type { AckMode } from '../options';
import { noReceipt, type Receipt } from './credit';
import { Queue } from './queue';

/** A result together with the means to say it has been consumed (`ack: 'manual'`). */
export interface Delivery<R> {
  readonly value: R;
  /** Index of the worker that produced it. */
  readonly worker: number;
  /** Marks the result as consumed, freeing its place in the buffer. Idempotent. */
  done(): void;
}

/**
 * The pool's results on their way to `results$` (Looppool's result queue and its
 * `result_done`). Results wait here while nobody is subscribed; a result counts as pending
 * until it is consumed: emitted to a subscriber (`auto`), or acknowledged with `done()`
 * (`manual`). The pool bounds `pending` by starting no task while the buffer has no room.
 */
export class ResultBuffer<R> {
  /** Results not yet emitted, oldest first: they wait here while nobody is subscribed. */
  private readonly waiting = new Queue<Delivery<R>>();
  /** The receipt of each waiting result, in the same order (`auto`: taken once emitted). */
  private readonly receipts = new Queue<Receipt>();
  /** Results emitted and not yet done (`manual` only). */
  private unacknowledged = 0;
  private readonly subscribers = new Set<Subscriber<R | Delivery<R>>>();
  /** True while results are handed out; a nested call leaves it to the running loop. */
  private flushing = false;
  private ending: { error?: unknown } | undefined;

  /** Every result: `R`s, or `Delivery<R>`s in manual mode. Hot: late subscribers get what is still waiting. */
  readonly results$: Observable<R | Delivery<R>>;

  constructor(
    private readonly ack: AckMode,
    /** Called when a result has been consumed, so that waiting tasks may start. */
    private readonly onConsumed: () => void,
    /** Called when the count of deliveries emitted and not yet done changes (`manual` only). */
    private readonly onOutstanding: () => void = noop,
  ) {
    this.results$ = new Observable((subscriber) => {
      this.subscribers.add(subscriber);
      this.flush();
      return () => this.subscribers.delete(subscriber);
    });
  }

  /** Results produced and not yet consumed. */
  get pending(): number {
    return this.waiting.length + this.unacknowledged;
  }

  /** Results emitted and not yet done (`manual` only): what a stalled sink holds. */
  get outstanding(): number {
    return this.unacknowledged;
  }

  /** A result; `receipt.taken()` once it is consumed. */
  push(value: R, worker: number, receipt: Receipt = noReceipt): void {
    if (this.ack === 'manual') this.waiting.push(this.delivery(value, worker, receipt));
    else {
      this.waiting.push({ value, worker, done: noop });
      this.receipts.push(receipt);
    }
    this.flush();
  }

  /** No more results will come: subscribers complete once the waiting ones are out. */
  complete(): void {
    this.ending ??= {};
    this.flush();
  }

  /** The pool failed: subscribers get `error` once the waiting results are out. */
  error(error: unknown): void {
    this.ending ??= { error };
    this.flush();
  }

  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.subscribers.size > 0 && this.waiting.length > 0) {
        const delivery = this.waiting.shift()!;
        if (this.ack === 'manual') this.unacknowledged++;
        for (const subscriber of [...this.subscribers]) subscriber.next(this.ack === 'manual' ? delivery : delivery.value);
        if (this.ack === 'manual') this.onOutstanding();
        if (this.ack === 'auto') {
          this.receipts.shift()!.taken();
          this.onConsumed();
        }
      }
      if (this.ending && this.waiting.length === 0) {
        for (const subscriber of [...this.subscribers]) {
          if ('error' in this.ending) subscriber.error(this.ending.error);
          else subscriber.complete();
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private delivery(value: R, worker: number, receipt: Receipt): Delivery<R> {
    let done = false;
    return {
      value,
      worker,
      done: () => {
        if (done) return;
        done = true;
        this.unacknowledged--;
        receipt.taken();
        this.onOutstanding();
        this.onConsumed();
      },
    };
  }
}

function noop(): void {}

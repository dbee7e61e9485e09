import { Observable, type Subscriber } from 'rxjs';
import type { AckMode } from '../options';
import { noReceipt, type Receipt } from './credit';
import type { Delivery } from '../results';
import { Consumption } from './consumption';
import { Queue } from './queue';
import { noop } from '../noop';

/**
 * The pool's results on their way to `results$` (Looppool's result queue and its
 * `result_done`). Results wait here while nobody is subscribed; a result counts as pending
 * until it is consumed: emitted to a subscriber (`auto`), or acknowledged with `done()`
 * (`manual`). The pool bounds `pending` by starting no task while {@link mayStart} says no.
 */
export class ResultBuffer<R> {
  /** Results not yet emitted, oldest first: they wait here while nobody is subscribed. */
  private readonly waiting = new Queue<Delivery<R>>();
  /** Results pushed and not yet consumed (waiting, or emitted and not yet done), against `bufferSize`. */
  private readonly consumption: Consumption;
  /** The receipt of each waiting result, in the same order (`auto`: taken once emitted). */
  private readonly receipts = new Queue<Receipt>();
  private readonly subscribers = new Set<Subscriber<R | Delivery<R>>>();
  /** True while results are handed out; a nested call leaves it to the running loop. */
  private flushing = false;
  private ending: { error?: unknown } | undefined;

  /** Every result: `R`s, or `Delivery<R>`s in manual mode. Hot: late subscribers get what is still waiting. */
  readonly results$: Observable<R | Delivery<R>>;

  constructor(
    private readonly ack: AckMode,
    bufferSize: number,
    /** Called when a result has been consumed, so that waiting tasks may start. */
    onConsumed: () => void,
    /** Called when the count of deliveries emitted and not yet done changes (`manual` only). */
    private readonly onOutstanding: () => void = noop,
  ) {
    this.consumption = new Consumption(
      bufferSize,
      ack === 'manual'
        ? () => {
            onOutstanding();
            onConsumed();
          }
        : onConsumed,
    );
    this.results$ = new Observable((subscriber) => {
      this.subscribers.add(subscriber);
      this.flush();
      return () => this.subscribers.delete(subscriber);
    });
  }

  /** Results produced and not yet consumed. */
  get pending(): number {
    return this.consumption.pending;
  }

  /** Results emitted and not yet done (`manual` only): what a stalled sink holds. */
  get outstanding(): number {
    return this.consumption.pending - this.waiting.length;
  }

  /** Whether one more task may start while `running` tasks each hold a place for their result. */
  mayStart(running: number): boolean {
    return this.consumption.mayStart(running);
  }

  /** A result; `receipt.taken()` once it is consumed. */
  push(value: R, worker: number, receipt: Receipt = noReceipt): void {
    if (this.ack === 'manual') this.waiting.push(this.consumption.delivery(value, worker, receipt));
    else {
      this.consumption.produced();
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
        for (const subscriber of [...this.subscribers]) subscriber.next(this.ack === 'manual' ? delivery : delivery.value);
        if (this.ack === 'manual') this.onOutstanding();
        else {
          this.receipts.shift()!.taken();
          this.consumption.consumed();
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
}

import { noReceipt, type Receipt } from './credit';

/** Where ordered results go. */
export interface OrderedSink<R> {
  /** A result, in order; `receipt.taken()` once the consumer has it. */
  next(value: R, receipt: Receipt): void;
  error(error: unknown): void;
  /** True once the sink wants nothing more. */
  readonly closed: boolean;
}

/** What a task after the head has produced so far. */
interface Held<R> {
  readonly values: R[];
  /** The receipt of each value: taken once the value leaves this buffer. */
  readonly receipts: Receipt[];
  done: boolean;
  /** Set when the task failed; reported when the task becomes the head. */
  failure?: { readonly error: unknown };
}

/**
 * Emits results in input order while tasks finish in any order. The head task's results go
 * straight out; a later task's results wait here until every task before it has finished.
 * A failure waits its turn too, so ordered output is exactly what running the tasks one
 * after another would give.
 *
 * ```
 * tasks:     a→A takes 3 frames, b→B 1 frame (two workers)
 * unordered: -B-A
 * ordered:   ---(AB)
 * ```
 */
export class ReorderBuffer<R> {
  /** Index of the task whose results go straight out; every task before it has finished. */
  private headIndex = 0;
  /** Results and outcomes of tasks after the head, by index. */
  private readonly held = new Map<number, Held<R>>();
  /** Results and finished tasks waiting here; what `bufferSize` bounds. */
  private heldCount = 0;

  constructor(private readonly sink: OrderedSink<R>) {}

  /** Index of the earliest task that has not finished. */
  get head(): number {
    return this.headIndex;
  }

  /** Results and finished tasks waiting for an earlier task. */
  get size(): number {
    return this.heldCount;
  }

  next(index: number, value: R, receipt: Receipt = noReceipt): void {
    if (index === this.headIndex) return this.sink.next(value, receipt);
    const entry = this.entry(index);
    entry.values.push(value);
    entry.receipts.push(receipt);
    this.heldCount++;
  }

  complete(index: number): void {
    if (index === this.headIndex) return this.advance();
    this.entry(index).done = true;
    this.heldCount++;
  }

  error(index: number, error: unknown): void {
    if (index === this.headIndex) return this.sink.error(error);
    const entry = this.entry(index);
    entry.done = true;
    entry.failure = { error };
    this.heldCount++;
  }

  private advance(): void {
    for (;;) {
      this.headIndex++;
      const entry = this.held.get(this.headIndex);
      if (!entry) return;
      this.held.delete(this.headIndex);
      this.heldCount -= entry.values.length + (entry.done ? 1 : 0);
      for (let i = 0; i < entry.values.length; i++) {
        if (this.sink.closed) return;
        this.sink.next(entry.values[i]!, entry.receipts[i]!);
      }
      if (this.sink.closed) return;
      if (entry.failure) return this.sink.error(entry.failure.error);
      if (!entry.done) return;
    }
  }

  private entry(index: number): Held<R> {
    let entry = this.held.get(index);
    if (!entry) this.held.set(index, (entry = { values: [], receipts: [], done: false }));
    return entry;
  }
}

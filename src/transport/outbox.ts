import type { Transferable } from 'node:worker_threads';
import type { BatchTransfers } from './batcher';
import type { Op } from './protocol';

/**
 * The pool's side of one worker's channel: the triples for the worker wait here and go out in
 * one batch once the messages that arrived in this turn of the event loop have all been read.
 *
 * Why not at the end of each message (a microtask): the results of one message free a place
 * or two, new tasks take them at once, and posting those per message sends batches of one or
 * two triples (4 to 8 measured on tiny tasks, against 32, the in-flight bound, this way):
 *
 * ```
 * worker → [r1] [r2 r3] [r4]          three messages read in one turn
 * per message:  [t5] [t6 t7] [t8]     three posts
 * per turn:     [t5 t6 t7 t8]         one post, in setImmediate
 * ```
 *
 * A grant of credit ({@link soon}) goes sooner: at the end of the message being read. A worker
 * streaming values sends several messages in a row, and this side reads all that have come
 * before the turn ends; a grant held for the turn's end reached the worker only once it had
 * run out of credit and waited.
 */
export class Outbox {
  private triples: unknown[] = [];
  /** What the waiting tasks transfer, by the index of their triple; empty without `transfer`. */
  private transfers = new Map<number, readonly Transferable[]>();
  /** A flush is queued for the end of the turn (setImmediate). */
  private scheduled = false;
  /** A flush is queued for the end of the current callback (a microtask). */
  private soonScheduled = false;

  /** @param post sends one batch; called only with triples in it. */
  constructor(private readonly post: (batch: unknown[], transfers: BatchTransfers) => void) {}

  /** Queues one triple; `transfer` lists what of `payload` to move rather than copy. */
  add(op: Op, id: number, payload: unknown, transfer?: readonly Transferable[]): void {
    if (transfer?.length) this.transfers.set(this.triples.length, transfer);
    this.triples.push(op, id, payload);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /**
   * Posts what waits once the current callback has returned (a microtask: for a thread's port,
   * before its next message is read), not at the end of the turn.
   */
  soon(): void {
    if (this.soonScheduled) return;
    this.soonScheduled = true;
    queueMicrotask(this.flushSoon);
  }

  private readonly flushSoon = (): void => {
    this.soonScheduled = false;
    this.flush();
  };

  /** Posts what waits, now. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.triples.length === 0) return;
    const batch = this.triples;
    const transfers = this.transfers;
    this.triples = [];
    this.transfers = new Map();
    this.post(batch, transfers);
  };

  /** Drops what waits: the worker is gone. */
  clear(): void {
    this.triples = [];
    this.transfers = new Map();
  }
}

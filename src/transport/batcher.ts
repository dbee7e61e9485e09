import type { Transferable } from 'node:worker_threads';
import type { Channel } from './channel';

/** How long (ms) one postMessage should take to clone its batch. */
const targetCloneTime = 0.2;
/** The most `(op, id, payload)` triples in one message. */
const maxTriples = 1024;

/** Transfer lists by the index of their triple in a batch. */
export type BatchTransfers = ReadonlyMap<number, readonly Transferable[]>;

/**
 * Posts batches of `(op, id, payload)` triples, the messages of both ends of a worker's
 * channel. Several small messages travel in one postMessage (one clone, one wake-up of the
 * other thread), but large payloads do not: V8 clones a message into one buffer that it grows
 * by copying, so a batch of 32 one-MiB buffers costs about five times as much per byte as
 * 32 messages of one. The batcher times every postMessage and sizes the next batch to clone
 * in about {@link targetCloneTime} ms: tiny tasks go hundreds at a time, large ones alone.
 */
export class Batcher {
  /** Triples per message, adapted after every post. */
  private limit = maxTriples;

  constructor(private readonly port: Pick<Channel, 'postMessage'>) {}

  /**
   * Posts `batch`, split into messages of at most the current limit. A message that cannot
   * be cloned is handed to `failed` with its triples and their transfer lists (indices
   * relative to that message), so that the caller can find the culprit one by one.
   */
  post(batch: unknown[], transfers: BatchTransfers, failed: (batch: unknown[], transfers: BatchTransfers) => void): void {
    for (let start = 0; start < batch.length; ) {
      const end = Math.min(batch.length, start + this.limit * 3);
      const whole = start === 0 && end === batch.length;
      const part = whole ? batch : batch.slice(start, end);
      const partTransfers = whole ? transfers : slice(transfers, start, end);
      const began = performance.now();
      try {
        this.port.postMessage(part, partTransfers.size > 0 ? [...partTransfers.values()].flat() : undefined);
        this.adapt((end - start) / 3, performance.now() - began);
      } catch {
        failed(part, partTransfers);
      }
      start = end;
    }
  }

  /**
   * A slow post shrinks the limit in proportion; a fast one doubles it. Only slow posts
   * shrink it, because a post's fixed cost would make a small batch look expensive per triple.
   */
  private adapt(triples: number, elapsed: number): void {
    if (elapsed > targetCloneTime) this.limit = Math.max(1, Math.floor((triples * targetCloneTime) / elapsed));
    else if (elapsed < targetCloneTime / 2 && triples >= this.limit) this.limit = Math.min(maxTriples, this.limit * 2);
  }
}

/** The transfer lists of triples `start` (inclusive) to `end`, re-indexed from 0. */
function slice(transfers: BatchTransfers, start: number, end: number): BatchTransfers {
  const part = new Map<number, readonly Transferable[]>();
  for (const [index, list] of transfers) if (index >= start && index < end) part.set(index - start, list);
  return part;
}

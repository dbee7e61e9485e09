import type { Transferable } from 'node:worker_threads';

/**
 * One end of the message channel between the pool and a worker's runtime: a `MessagePort`
 * (a thread) is one as it is; a worker process's IPC channel is adapted to it (workers on
 * other hosts speak `nats/wire.ts` records instead). Messages are batches of `(op, id,
 * payload)` triples (see `protocol.ts`). Where values cannot be moved (a process), `transfer` is
 * ignored and they are copied.
 */
export interface Channel {
  /** Sends one message; throws at once if it cannot be cloned. */
  postMessage(message: unknown[], transfer?: readonly Transferable[]): void;
  /** Calls `listener` with each message that arrives. */
  on(event: 'message', listener: (message: unknown[]) => void): unknown;
}

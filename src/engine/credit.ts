import { windowQuarter } from '../transport/protocol';

/**
 * The pool's side of a streaming task's credits (`streamWindow`; the worker's side is
 * `worker/credit.ts`). Each result travels to its consumer with a {@link Receipt}; the
 * consumer's taking it (emitted with `ack: 'auto'`, `done()` with `ack: 'manual'`, out of the
 * reorder buffer when `ordered`) calls `taken()`, and the task's run tells its worker, once per
 * {@link grantBatch} values, that it may send that many more.
 */

/** A result on its way to the consumer: `taken()` once the consumer has it. Extra calls do nothing harmful. */
export interface Receipt {
  taken(): void;
}

/** The receipt of a value that no worker waits on (an inline worker's, a `ctx.emit`). */
export const noReceipt: Receipt = { taken() {} };

/**
 * Values taken that are told to the worker in one message: a quarter of the window (see
 * `windowQuarter`), so that the worker has the rest to go on with while the message travels
 * (a busy machine delays it by milliseconds). Infinity when unpaced.
 */
export function grantBatch(window: number | undefined): number {
  return windowQuarter(window ?? Infinity);
}

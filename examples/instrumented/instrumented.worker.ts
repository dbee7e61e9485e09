/**
 * Looppool's instrumented worker, ported: each result carries the message, the worker's
 * number and its thread id, so that the work can be traced to a thread.
 */
import { threadId } from 'node:worker_threads';
import { defineWorker } from 'looppool/worker';

/** A result of the instrumented worker. */
export interface Traced {
  message: string;
  worker: number;
  thread: string;
}

export default defineWorker((message: string, ctx): Traced => ({
  message,
  worker: ctx.index,
  thread: `instrumented pool worker ${ctx.index} (thread ${threadId})`,
}));

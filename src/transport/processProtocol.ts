import type { WorkerSetup } from './protocol';

/**
 * The messages between the pool and a worker process (the `looppool-worker` host, see
 * `host/serve.ts`) around the task protocol of `protocol.ts`: shared by the processes port and
 * the host, which both import it. Every message is a batch of `(op, id, payload)` triples,
 * on the forked process's IPC channel: the process's own messages are one triple each, with
 * ops from 100 on, and never share a batch with tasks. (Not the records of the NATS cluster: see `nats/wire.ts`.)
 *
 * ```
 * pool ─ [setup, 0, ProcessSetup] ──────────▶ host   loads the module, runs init
 * pool ◀──────────── [ready, 0, 0] ───────── host   or [failed, 0, LoadFailure], then exits
 * pool ◀─ batches of transport/protocol.ts ─▶ host   tasks, results, ping, stats, stop
 * pool ─ [sample, id, 0] ───────────────────▶ host   answers [sample, id, event-loop utilization]
 * ```
 */
export const ProcessOp = {
  /** pool → host: serve this worker; `payload` is a {@link ProcessSetup}. */
  setup: 100,
  /** host → pool: the module has loaded and `init` has run: send tasks. */
  ready: 101,
  /** host → pool: the worker will not start; `payload` is a {@link LoadFailure}. The host exits. */
  failed: 102,
  /** pool → host: measure your event-loop utilization; host → pool: `payload` is it (0 to 1), for request `id`. */
  sample: 103,
} as const;

/** Whether `message` is one of the process's own (not a batch of tasks or results). */
export function isProcessMessage(message: unknown[]): boolean {
  return typeof message[0] === 'number' && message[0] >= ProcessOp.setup;
}

/** What the pool tells a worker process about the worker it serves: what a thread is told, less the shared memory. */
export interface ProcessSetup extends Pick<WorkerSetup, 'modulePath' | 'index' | 'concurrency' | 'pace'> {
  /** The pool's `workerData`, cloned. */
  readonly workerData: unknown;
  /** The process title, `<name>#<index>`, for `ps` and `htop`. */
  readonly title: string;
}

import type { StreamPace } from '../transport/protocol';

/**
 * The messages of the worker host (`looppool-worker`) around the task protocol of
 * `transport/protocol.ts`. Every message is a batch of `(op, id, payload)` triples, whatever
 * carries it (a worker process's IPC channel now, a stream to another host later): the host's
 * own messages are one triple each, with ops from 100 on, and never share a batch with tasks.
 *
 * ```
 * pool ─ [setup, 0, HostSetup] ─────────────▶ host   loads the module, runs init
 * pool ◀──────────── [ready, 0, 0] ───────── host   or [failed, 0, LoadFailure], then exits
 * pool ◀─ batches of transport/protocol.ts ─▶ host   tasks, results, ping, stats, stop
 * pool ─ [sample, id, 0] ───────────────────▶ host   answers [sample, id, event-loop utilization]
 * ```
 */
export const HostOp = {
  /** pool → host: serve this worker; `payload` is a {@link HostSetup}. */
  setup: 100,
  /** host → pool: the module has loaded and `init` has run: send tasks. */
  ready: 101,
  /** host → pool: the worker will not start; `payload` is a `LoadFailure`. The host exits. */
  failed: 102,
  /** pool → host: measure your event-loop utilization; host → pool: `payload` is it (0 to 1), for request `id`. */
  sample: 103,
} as const;

/** Whether `message` is one of the host's own (not a batch of tasks or results). */
export function isHostMessage(message: unknown[]): boolean {
  return typeof message[0] === 'number' && message[0] >= HostOp.setup;
}

/** What the pool tells a host about the worker it serves. */
export interface HostSetup {
  /** Absolute path of the worker module. */
  readonly modulePath: string;
  readonly index: number;
  /** Tasks the worker runs at once; it queues the others it is sent. */
  readonly concurrency: number;
  /** The pool's `workerData`, cloned. */
  readonly workerData: unknown;
  /** The process title, `<name>#<index>`, for `ps` and `htop`. */
  readonly title: string;
  /** How far each task's values may run ahead of its consumer; unpaced without it. */
  readonly pace?: StreamPace;
}

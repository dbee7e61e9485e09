import type { ResourceLimits, Transferable } from 'node:worker_threads';

/**
 * What a transport needs of the pool's options to start its workers, wherever they run: a
 * thread, a process, or a worker a host serves. The pool's resolved options are one; each
 * transport reads the fields that apply to it (`ThreadsTransportOptions`,
 * `ProcessesTransportOptions` and the NATS wire's `WorkerSetupRecord` are picks of it).
 */
export interface WorkerStartOptions {
  /** Data for every worker, cloned once per worker. */
  readonly workerData: unknown;
  /** Tasks a worker runs at once. */
  readonly concurrency: number;
  /**
   * Heap limits of each worker: a thread's `resourceLimits`; for a process, the heap limits
   * become its `--max-old-space-size` and `--max-semi-space-size`.
   */
  readonly resourceLimits: ResourceLimits | undefined;
  /** How long (ms) a stopping worker may run its abort handlers before it is terminated. */
  readonly gracePeriod: number;
  /** With a value, the worker writes a heartbeat often enough to tell a loop blocked this long (ms). */
  readonly blockingThreshold: number | undefined;
  /**
   * Milliseconds a task may run, if limited: with it (or `blockingThreshold`), a worker running
   * several tasks at once follows each into its continuations.
   */
  readonly taskTimeout: number | undefined;
  /** What of a task to transfer instead of copying. */
  readonly transfer: ((task: never) => readonly Transferable[]) | undefined;
  /** The pool's name: worker `i` is `<name>#<i>` in process titles and hosts' output. */
  readonly name: string;
  /** Values a streaming task may yield ahead of its consumer (`streamWindow`); unbounded without it. */
  readonly streamWindow?: number;
  /** Values of an Observable task that may wait in its worker for credit (`streamBuffer`); unbounded without it. */
  readonly streamBuffer?: number;
}

/**
 * The messages between the pool and a worker's runtime, on a thread's MessagePort or a worker
 * process's IPC channel (and, on a NATS host, between the host and its local threads; the
 * records between pool and host are `nats/wire.ts`). One message carries a batch: a flat array of
 * `[op, id, payload]` triples, so many small tasks and results cost one `postMessage`.
 * `id` numbers the tasks of one worker; it is 0 where no task is concerned.
 */
export const Op = {
  /** main → worker: run task `id` with input `payload`. */
  run: 0,
  /** main → worker: cancel task `id`. */
  cancel: 1,
  /** worker → main: task `id` produced result `payload`. */
  next: 2,
  /** worker → main: task `id` completed. */
  complete: 3,
  /** worker → main: task `id` failed with `payload`, a {@link SerializedError}. */
  error: 4,
  /** worker → main: a result of task `id` could not be cloned; `payload` is the reason. */
  unserializable: 5,
  /** worker → main: a value sent with `ctx.emit` (`id` 0). */
  emit: 6,
  /** worker → main: a value sent with `ctx.emit` could not be cloned; `payload` is the reason. */
  emitUnserializable: 7,
  /** worker → main: an uncaught error is about to end the worker; `payload` is a {@link SerializedError}. */
  fatal: 8,
  /** main → worker: abort every running task and the worker's own signal, then exit. (An op the worker does not know ends it with an error.) */
  stop: 9,
  /** main → worker: answer with `pong` and the same `id`. */
  ping: 10,
  /** worker → main: the answer to `ping` number `id`. */
  pong: 11,
  /** main → worker: report your figures; worker → main: `payload` is a {@link WorkerFigures}, for request `id`. */
  stats: 12,
  /** worker → main: task `id` produced its last result `payload` and completed: `next` and `complete` in one triple. */
  last: 13,
  /**
   * worker → main: task `id` has started. Sent with the next batch, only for a task that has
   * not ended by then (a task's results and its end say that it started).
   */
  started: 14,
  /**
   * main → worker: run task `id`, as `run` does, inside a trace: `payload` is `[input,
   * traceparent]`, the W3C `traceparent` of the task's attempt span. Sent only when the pool
   * traces (see `otel/tracing.ts`).
   */
  runTraced: 15,
  /** worker → main: spans the worker's code ended (`registerWorkerTracing`), for the pool's process to export; `id` 0. */
  spans: 16,
  /**
   * main → worker: task `id`'s consumer has taken `payload` more of its values: it may send
   * that many more (see `streamWindow`). Sent in batches, and only to a task still running.
   */
  credit: 17,
} as const;

export type Op = (typeof Op)[keyof typeof Op];

/** An error as it crosses threads: what is needed to rebuild it on the other side. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string | number;
}

/** Why a worker did not start, in words, with what was thrown. */
export interface LoadFailure {
  readonly reason: string;
  readonly error?: SerializedError;
}

/** What a worker thread answers to `connect`: it is serving, or why it is not. */
export type ConnectResult = { readonly ok: true } | ({ readonly ok: false } & LoadFailure);

/** What the main thread hands a worker when it connects. */
export interface WorkerSetup {
  /** Absolute path of the worker module. */
  readonly modulePath: string;
  readonly index: number;
  /** Tasks the worker runs at once; it queues the others it is sent. */
  readonly concurrency: number;
  /**
   * Whether the worker keeps `activity[activeSlot]` on each task through its continuations
   * (async hooks; a cost on every promise). Only a worker that runs several tasks at once
   * needs it, and only the timeout and blocked-loop checks read it.
   */
  readonly followContinuations: boolean;
  /**
   * Shared with the main thread, {@link activitySlots} int32s, so that what a worker was doing
   * is known even when it dies without a word (out of memory, killed while stuck):
   * `[activeSlot]` the id (see {@link activityId}) of the task whose code holds the event loop
   * now, 0 when none; `[readySlot]` 1 once the module has loaded and `init` has run (the worker then takes tasks),
   * -1 if the pool terminated it first (it then takes none);
   * `[startedSlot]` the id of the last task started (tasks start in the order they were sent).
   */
  readonly activity: SharedArrayBuffer;
  /**
   * Shared with the main thread, when `blockingThreshold` is set: `[0]` holds `Date.now()` of
   * the last turn of the worker's event loop, written every `heartbeat` ms.
   */
  readonly heartbeat: SharedArrayBuffer | undefined;
  /** Milliseconds between heartbeats; 0 for none. */
  readonly heartbeatEvery: number;
  /** How far each task's values may run ahead of its consumer; see {@link StreamPace}. */
  readonly pace: StreamPace;
}

/** How far a streaming task may run ahead of its consumer, as the worker is told at setup (`streamWindow`, `streamBuffer`). */
export interface StreamPace {
  /** Values a task may send that its consumer has not taken; Infinity for no bound. */
  readonly window: number;
  /** Values of an Observable task that may wait in the worker for credit; one more fails the task. */
  readonly buffer: number;
}

/**
 * A quarter of a stream's window (Infinity when unpaced): the most values of a paced stream a
 * worker posts in one message (at most 1,024 in any case), and the values taken that the pool
 * grants back in one go. So a window is four messages on their way: while the pool reads one
 * and grants it back, the worker goes on with the others, and neither waits for the other's
 * turn. A window posted as one message (as it was) left the two sides taking turns: paced
 * streams ran at half the unpaced rate (docs/performance.md#streaming).
 */
export function windowQuarter(window: number): number {
  return window === Infinity ? Infinity : Math.max(1, Math.ceil(window / 4));
}

/** The `code` of the error a worker fails an Observable task with when it overflows `streamBuffer`. */
export const streamOverflowCode = 'ERR_LOOPPOOL_STREAM_OVERFLOW';

/** The pace a worker is told, from the pool's `streamWindow` and `streamBuffer` (unpaced where not given). */
export function streamPace(options: { readonly streamWindow?: number | undefined; readonly streamBuffer?: number | undefined }): StreamPace {
  return { window: options.streamWindow ?? Infinity, buffer: options.streamBuffer ?? Infinity };
}

/** The int32 slots of the activity buffer (see {@link WorkerSetup.activity}). */
export const activeSlot = 0;
export const readySlot = 1;
export const startedSlot = 2;
export const activitySlots = 4;

/** Task ids as the activity buffer holds them wrap around after this many. */
const idRange = 0x7ffffffe;

/** A task id as the activity buffer holds it: a positive int32. */
export function activityId(id: number): number {
  return (id % idRange) + 1;
}

/** Whether task `id` is at or before the task whose activity id is `last`, ids being close together (in flight at once). */
export function startedBy(id: number, last: number): boolean {
  if (last === 0) return false;
  return (last - activityId(id) + idRange) % idRange < idRange / 2;
}

/** Turns anything thrown into a {@link SerializedError}. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const { name, message, stack, code } = error as Partial<Error> & { code?: unknown };
    return {
      name: typeof name === 'string' ? name : 'Error',
      message: String(message),
      ...(typeof stack === 'string' ? { stack } : {}),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    };
  }
  return { name: 'Error', message: `Non-error value thrown: ${String(error)}` };
}

/** Rebuilds an Error from its serialized form, keeping the remote name, message, stack and code. */
export function reviveError(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  error.name = serialized.name;
  error.stack = serialized.stack ?? `${serialized.name}: ${serialized.message}`;
  if (serialized.code !== undefined) Object.assign(error, { code: serialized.code });
  return error;
}

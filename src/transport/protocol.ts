/**
 * The messages between the main thread and a worker thread, on the MessagePort that each
 * worker gets at start-up. One message carries a batch: a flat array of
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
  /** main → worker: abort every running task and the worker's own signal, then exit. */
  stop: 9,
  /** main → worker: answer with `pong` and the same `id`. */
  ping: 10,
  /** worker → main: the answer to `ping` number `id`. */
  pong: 11,
  /** main → worker: report your figures; worker → main: `payload` is a {@link WorkerFigures}, for request `id`. */
  stats: 12,
  /** worker → main: task `id` produced its last result `payload` and completed: `next` and `complete` in one triple. */
  last: 13,
} as const;

export type Op = (typeof Op)[keyof typeof Op];

/** An error as it crosses threads: what is needed to rebuild it on the other side. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string | number;
}

/** What the main thread hands a worker when it connects. */
export interface WorkerSetup {
  /** Absolute path of the worker module. */
  readonly modulePath: string;
  readonly index: number;
  /** Tasks the worker runs at once; it queues the others it is sent. */
  readonly concurrency: number;
  /**
   * Shared with the main thread: `[0]` holds the id (see {@link activityId}) of the task whose
   * synchronous code runs now, 0 when none. Read when the worker stops answering, to tell the
   * task that blocks its event loop from the tasks stuck behind it. `[1]` becomes 1 once the
   * worker has loaded its module and run `init`: if the thread exits before the main thread
   * has read the answer to `connect` (it comes on another channel), this says whether it
   * crashed under a task or failed to load.
   */
  readonly activity: SharedArrayBuffer;
  /**
   * Shared with the main thread, when `blockingThreshold` is set: `[0]` holds `Date.now()` of
   * the last turn of the worker's event loop, written every `heartbeat` ms.
   */
  readonly heartbeat: SharedArrayBuffer | undefined;
  /** Milliseconds between heartbeats; 0 for none. */
  readonly heartbeatEvery: number;
}

/** What a worker measures of itself, since its previous report. */
export interface WorkerFigures {
  /** Event-loop delay percentiles, in milliseconds (from `perf_hooks.monitorEventLoopDelay`). */
  readonly loopDelay: { readonly p50: number; readonly p99: number; readonly max: number };
  /** V8 heap of the worker's isolate, in bytes. */
  readonly heapUsed: number;
  readonly heapTotal: number;
}

/** The slot of the activity buffer that says the worker is ready. */
export const readySlot = 1;

/** A task id as the activity buffer holds it: a positive int32. */
export function activityId(id: number): number {
  return (id % 0x7ffffffe) + 1;
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

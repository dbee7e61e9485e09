import { inspect } from 'node:util';

/** Base class of every error looppool raises, so one `instanceof` check catches them all. */
export class LoopPoolError extends Error {
  /** The class's name, as `error.name` is for every built-in error. */
  override name = 'LoopPoolError';
  /** The worker the error concerns, `<pool name>#<index>`, when it concerns one (set by the pool). */
  workerName?: string;
}

/**
 * A task threw, its Promise rejected, or its Observable or AsyncIterable errored.
 *
 * `cause` is the worker's error, rebuilt on this side with its original `name`, `message`
 * and `stack` (and `code`, when it has one).
 *
 * @typeParam _Input unused, kept so that `TaskError<Row>` still compiles: where an error is
 *   caught (`catchError`, `errors$`) nothing proves which pipeline's input it carries, so
 *   `input` is `unknown`, as in every other error. Narrow it where you know.
 */
export class TaskError<_Input = unknown> extends LoopPoolError {
  /** Always `'TaskError'`. */
  override readonly name = 'TaskError';

  constructor(
    /** Position of the input in the source, from 0. */
    readonly index: number,
    /** Index of the worker that ran the task. */
    readonly workerIndex: number,
    /** The input the task was given. */
    readonly input: unknown,
    cause: Error,
  ) {
    super(`Task ${index} (input: ${summarize(input)}) failed on worker ${workerIndex}: ${cause.name}: ${cause.message}`, {
      cause,
    });
  }
}

/**
 * A worker could not start: its module is missing or does not compile, it never called
 * `defineWorker`, its `init` threw, or it exited before it was ready.
 */
export class WorkerLoadError extends LoopPoolError {
  /** Always `'WorkerLoadError'`. */
  override readonly name = 'WorkerLoadError';

  constructor(
    /** Index of the worker that failed to start. */
    readonly workerIndex: number,
    /** The worker module, as resolved. */
    readonly worker: string,
    reason: string,
    cause?: unknown,
  ) {
    super(`Worker ${workerIndex} could not load ${worker}: ${reason}`, cause === undefined ? undefined : { cause });
  }
}

/** What could not be structured-cloned on its way between threads. */
export type SerializationSubject = 'task' | 'result' | 'emitted value' | 'workerData';

/**
 * A value could not be structured-cloned between threads: a task on its way to a worker, a
 * result on its way back, a value sent with `ctx.emit`, or `workerData`.
 */
export class SerializationError extends LoopPoolError {
  /** Always `'SerializationError'`. */
  override readonly name = 'SerializationError';

  constructor(
    /** Which value failed to cross. */
    readonly subject: SerializationSubject,
    /** Position of the input whose task or result failed; `undefined` for emitted values and `workerData`. */
    readonly index: number | undefined,
    /** Index of the worker on the other side. */
    readonly workerIndex: number,
    reason: string,
  ) {
    super(`${describeSubject(subject, index)} cannot be sent between threads (worker ${workerIndex}): ${reason}`);
  }
}

/** Why a worker ended: what `WorkerCrashError.reason` says. */
export type CrashReason = 'exited' | 'uncaught error' | 'out of memory' | 'unresponsive' | 'host lost';

/**
 * A worker ended while it was in use: it called `process.exit`, an exception or rejection
 * went uncaught in it, it ran out of memory (`resourceLimits`), or it stopped answering after
 * a task timed out. The worker is replaced and its tasks are retried (`retries`); a task
 * fails with this error once its retries are spent, and the pool fails with it when workers
 * crash more often than `maxRestarts` a minute.
 */
export class WorkerCrashError extends LoopPoolError {
  /** Always `'WorkerCrashError'`. */
  override readonly name = 'WorkerCrashError';
  /**
   * The signal that ended the worker's process (`'SIGSEGV'`, `'SIGABRT'`), for a worker of
   * `workerType: 'process'` that a signal killed; undefined otherwise.
   */
  readonly signal: NodeJS.Signals | undefined;

  constructor(
    /** Index of the worker that ended. */
    readonly workerIndex: number,
    /** The thread's exit code. */
    readonly exitCode: number,
    /** Position of the input whose task was running, if one was. */
    readonly index: number | undefined,
    /** What ended the worker. */
    readonly reason: CrashReason,
    cause?: unknown,
    /** Replaces the default message, when there is more to say (the restart limit). */
    message?: string,
  ) {
    super(
      message ??
        `Worker ${workerIndex} ${describeCrash(reason, exitCode)}` +
          (index === undefined ? '' : ` while running task ${index}`) +
          (isErrorLike(cause) ? `: ${cause.name}: ${cause.message}` : ''),
      cause === undefined ? undefined : { cause },
    );
    this.signal = cause instanceof KilledBySignal || cause instanceof WorkerCrashError ? cause.signal : undefined;
  }
}

/**
 * @internal The cause of a {@link WorkerCrashError} whose worker process a signal ended, so
 * that the error names it (`signal`).
 */
export class KilledBySignal extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`the worker process was killed by ${signal}`);
  }
}

function describeCrash(reason: CrashReason, exitCode: number): string {
  switch (reason) {
    case 'exited':
      return `exited with code ${exitCode}`;
    case 'uncaught error':
      return `exited with code ${exitCode} on an uncaught error`;
    case 'out of memory':
      return 'ran out of memory';
    case 'unresponsive':
      return 'stopped answering and was terminated';
    case 'host lost':
      return 'was lost with its host (the host stopped, or was not heard from within `ackWait`)';
  }
}

/**
 * A task ran longer than `taskTimeout`. Its `ctx.signal` was aborted; if its worker did not
 * answer within `gracePeriod`, the worker was replaced.
 */
export class TaskTimeoutError extends LoopPoolError {
  /** Always `'TaskTimeoutError'`. */
  override readonly name = 'TaskTimeoutError';

  constructor(
    /** Position of the input, from 0. */
    readonly index: number,
    /** Index of the worker that ran the task. */
    readonly workerIndex: number,
    /** The input the task was given. */
    readonly input: unknown,
    /** The limit that was passed, in milliseconds. */
    readonly timeout: number,
  ) {
    super(`Task ${index} (input: ${summarize(input)}) ran longer than taskTimeout (${timeout} ms) on worker ${workerIndex}`);
  }
}

/**
 * A warning, not a failure: a worker's event loop has been blocked for longer than
 * `blockingThreshold` (Tornado's `set_blocking_log_threshold`). It names the worker and the task
 * whose synchronous code was running, when one was. Reported on `pool.warnings$`,
 * `pool.errors$` and to `onError`; nothing is stopped.
 */
export class LoopBlockedWarning extends LoopPoolError {
  /** Always `'LoopBlockedWarning'`. */
  override readonly name = 'LoopBlockedWarning';

  constructor(
    /** `<pool name>#<index>` of the blocked worker. */
    workerName: string,
    /** Index of the blocked worker. */
    readonly workerIndex: number,
    /** How long the loop had not turned when the warning was raised, in milliseconds. */
    readonly blockedMs: number,
    /** The `blockingThreshold` that was passed. */
    readonly threshold: number,
    /** Position of the input whose task was running, if one was. */
    readonly index: number | undefined,
    /** That task's input. */
    readonly input: unknown,
  ) {
    super(
      `The event loop of worker ${workerName} has been blocked for ${Math.round(blockedMs)} ms (blockingThreshold: ${threshold} ms)` +
        (index === undefined ? '' : ` by task ${index} (input: ${summarize(input)})`),
    );
    this.workerName = workerName;
  }
}

/**
 * A warning, not a failure: with `ack: 'manual'`, every place of a result buffer has been
 * taken for `stallThreshold` ms by deliveries not yet `done()`, so no task starts; or the pool
 * is draining (`stop()`, a first signal) and waits on them. A sink that calls `done()` only
 * at a commit every N rows, with N above `bufferSize`, waits for rows that wait for its
 * `done()`: it never ends. Reported once, on `errors$` and to `onError` (a process warning if
 * neither is watched); nothing is stopped.
 */
export class StalledSinkWarning extends LoopPoolError {
  /** Always `'StalledSinkWarning'`. */
  override readonly name = 'StalledSinkWarning';

  constructor(
    /** The buffer's bound: the pool's or the pipeline's `bufferSize`. */
    readonly bufferSize: number,
    /** Deliveries handed to the sink and not yet `done()`. */
    readonly outstanding: number,
    /** How long every place had been taken, in milliseconds. */
    readonly stalledMs: number,
    /** True when a drain (`stop()`, a first signal) waits on those deliveries. */
    readonly draining: boolean,
  ) {
    super(
      (draining
        ? `The pool is stopping and waits for ${outstanding} deliveries not yet done() (bufferSize: ${bufferSize}): `
        : `Every place of the result buffer (bufferSize: ${bufferSize}) has been taken for ${Math.round(stalledMs)} ms by ${outstanding} deliveries not yet done(): no task starts until one is. `) +
        "Call done() on each delivery once it is handled (a sink that commits every N rows: after each row is written, not at the commit), " +
        'or raise bufferSize above the number of rows the sink holds before it acknowledges them.',
    );
  }
}

/**
 * The pool is closed: `put`, `broadcast` or a new pipeline after `stop()` or `terminate()`,
 * or a task that `terminate()` cut short.
 */
export class PoolClosedError extends LoopPoolError {
  /** Always `'PoolClosedError'`. */
  override readonly name = 'PoolClosedError';
}

/**
 * A task of `pool.run` was aborted through its `signal`: before it started (it was never
 * sent to a worker) or while it ran (its `ctx.signal` was aborted). `cause` is the signal's
 * reason.
 */
export class AbortError extends LoopPoolError {
  override readonly name = 'AbortError';

  constructor(
    /** The task's input. */
    readonly input: unknown,
    reason: unknown,
  ) {
    super(`The task (input: ${summarize(input)}) was aborted by its signal`, { cause: reason });
  }
}

/**
 * A source pushed more inputs than the `overflow` bound lets wait, with strategy `'error'`; or
 * a `pool.put` or `pool.run` came while `overflow.size` of the pool's puts and runs waited for
 * a worker (any strategy): that task was not queued (piscina's `maxQueue`).
 */
export class BufferOverflowError extends LoopPoolError {
  /** Always `'BufferOverflowError'`. */
  override readonly name = 'BufferOverflowError';

  constructor(
    /** The bound: `overflow.size`, or `streamBuffer`. */
    readonly size: number,
    /** Position of the input that did not fit, or of the task whose Observable overflowed; `undefined` for a `put` or a `run`. */
    readonly index: number | undefined,
    /** The call that was refused, for a `put` or a `run`. */
    call?: 'put' | 'run',
    /**
     * Which bound was passed: `'overflow.size'`, inputs waiting for a worker; `'streamBuffer'`,
     * values of an Observable task waiting in its worker for its consumer (the worker's error is the `cause`).
     */
    readonly bound: 'overflow.size' | 'streamBuffer' = 'overflow.size',
    cause?: Error,
  ) {
    super(
      bound === 'streamBuffer'
        ? `Task ${index} failed: its Observable emitted faster than its consumer takes values, and ${size} values already waited in the worker (streamBuffer is ${size}). ` +
            'Return an AsyncIterable (an async generator), which is read only as fast as the consumer takes values, raise streamBuffer, or raise streamWindow.'
        : call
          ? `pool.${call}() was refused: ${size} tasks of put and run already wait for a worker (overflow.size is ${size}); the task was not queued. ` +
            'The pool is at its bound: shed the load (answer 503, retry later), or raise overflow.size.'
          : `Input ${index} does not fit: ${size} inputs already wait for a worker (overflow.size is ${size}). ` +
            'The source pushes faster than the workers take tasks; raise overflow.size, choose a drop strategy, or pull the source with pool.process().',
      cause ? { cause } : undefined,
    );
  }
}

/** An Error, from this realm or another (Node's own errors, a vm context): something with a name and a message. */
function isErrorLike(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && typeof (value as Error).message === 'string' && typeof (value as Error).name === 'string';
}

/** A short, one-line rendering of a value for error messages. */
export function summarize(value: unknown): string {
  const text = inspect(value, { depth: 1, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 60 });
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describeSubject(subject: SerializationSubject, index: number | undefined): string {
  switch (subject) {
    case 'task':
      return `Task ${index}`;
    case 'result':
      return `A result of task ${index}`;
    case 'emitted value':
      return 'A value sent with ctx.emit';
    case 'workerData':
      return '`workerData`';
  }
}

/**
 * A cluster transport (`looppool/nats`) could not be used: its optional peer dependencies
 * are not installed, or it could not connect to the NATS server (wrong address, wrong
 * credentials, TLS refused). The message says which servers and what the server said.
 */
export class ClusterError extends LoopPoolError {
  /** `'ClusterError'`, or the name of a subclass. */
  override readonly name: string = 'ClusterError';

  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/**
 * Messages between a pool and a host (`looppool/nats`) were lost while a connection was down
 * and could not be sent again: the host no longer kept them (it keeps what it sent until the
 * pool acknowledges it, up to `retained` bytes), or one side had already given the other up.
 * The host's workers end as lost ({@link WorkerCrashError} with reason `'host lost'` and this
 * as its cause): a task that had not started runs again, one that may have run is retried
 * within `retries`, and one whose results had partly reached the pool fails, since a result
 * may be missing. Raise `retries` to run such tasks again, or make them idempotent.
 */
export class MessagesLostError extends ClusterError {
  /** Always `'MessagesLostError'`. */
  override readonly name: 'MessagesLostError' = 'MessagesLostError';

  constructor(
    /** The host, `hostname:pid`. */
    readonly host: string,
    /** What the host keeps of what it sent until the pool has it, in bytes. */
    readonly retained: number,
  ) {
    super(
      `Messages between the pool and host ${host} were lost while a connection was down and could not be sent again ` +
        `(more than ${retained} bytes were unacknowledged, or one side had given the other up): a result may have been lost. ` +
        "The host's workers are replaced; tasks that had not started run again, tasks that may have run are retried within `retries`, " +
        'and a task whose results had partly arrived fails with this as its cause.',
    );
  }
}

/**
 * A task or one of its results is too large to cross the cluster (`looppool/nats`): once
 * serialized it is past `limit`, the largest message the cluster carries in pieces. The task
 * fails at once with this error; the worker and the pool go on. `maxPayload` is the NATS
 * server's own limit for one message, which larger messages cross in pieces.
 */
export class PayloadTooLargeError extends LoopPoolError {
  /** Always `'PayloadTooLargeError'`. */
  override readonly name = 'PayloadTooLargeError';

  constructor(
    /** Which value was too large. */
    readonly subject: 'task' | 'result',
    /** Position of the input whose task or result it was. */
    readonly index: number,
    /** Index of the worker on the other side. */
    readonly workerIndex: number,
    /** Its size once serialized, in bytes. */
    readonly bytes: number,
    /** The largest message the cluster carries, in bytes. */
    readonly limit: number,
    /** The NATS server's `max_payload`, in bytes. */
    readonly maxPayload: number,
  ) {
    super(
      `${describeSubject(subject, index)} is too large to cross the cluster (worker ${workerIndex}): ${bytes} bytes once serialized, ` +
        `past the limit of ${limit} bytes (the NATS server's max_payload is ${maxPayload} bytes; messages past it cross in pieces up to the limit). ` +
        'Send a reference to the data (a path, a key, a URL) instead of the data.',
    );
  }
}

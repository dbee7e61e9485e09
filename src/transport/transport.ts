import type { Transferable } from 'node:worker_threads';
import type { CrashReason } from '../errors';
import type { SpanRecord } from '../otel/record';

/**
 * The contract between the engine and one worker, wherever it runs: a thread, a process, a
 * worker on another host (NATS), or an inline worker in the calling thread. The core
 * ({@link WorkerPort}) needs no shared memory and no synchronous answer from the worker; the
 * extras ({@link Probeable}, {@link LoopWatch}, {@link Introspectable}) are capabilities a port
 * may add, and the engine checks for them.
 *
 * The worker, not the main thread, says what it runs: a port reports when a task has started
 * and when it has ended, and, when its worker dies, what it knows of each task it still had.
 */

/** Why a task ended without completing, on a worker that goes on. */
export type TaskFailure =
  /** The handler threw, its Promise rejected or its stream errored. */
  | { readonly kind: 'threw'; readonly error: Error }
  /** The task or one of its results could not be structured-cloned. */
  | { readonly kind: 'unserializable'; readonly subject: 'task' | 'result'; readonly reason: string }
  /** The task or one of its results is past the cluster's message limit (`looppool/nats`). */
  | {
      readonly kind: 'tooLarge';
      readonly subject: 'task' | 'result';
      readonly bytes: number;
      readonly limit: number;
      readonly maxPayload: number;
    };

/** Where a port reports what happens to one task. */
export interface RunObserver<R> {
  /**
   * The worker has started the task's code. It may come late (with the worker's next message)
   * and is implied by the task's first result or its end, which may come without it.
   */
  started(): void;
  /** One result. */
  next(value: R): void;
  /** The task completed; nothing follows. */
  complete(): void;
  /** The task failed on a worker that goes on; nothing follows. */
  error(failure: TaskFailure): void;
}

/** What a port knew of one unfinished task when its worker ended. */
export interface TaskAtExit<R> {
  readonly observer: RunObserver<R>;
  /** Whether the task's code had started on the worker; undefined when the port cannot tell. */
  readonly started: boolean | undefined;
  /** Whether the task's code held the worker's event loop when it ended; undefined when the port cannot tell. */
  readonly blocking: boolean | undefined;
  /** Whether the task's input was transferred (moved) to the worker: it no longer exists on this side. */
  readonly transferred: boolean;
}

/** What every worker end says: the tasks it had. */
interface ExitTasks<R> {
  readonly exitCode: number;
  readonly error?: Error | undefined;
  /** Every task handed to the worker that had not ended, in the order they were handed over. */
  readonly tasks: ReadonlyArray<TaskAtExit<R>>;
}

/** The worker never became ready: its module failed to load, `init` threw, or it exited first. */
export interface WorkerLoadFailure<R> extends ExitTasks<R> {
  readonly kind: 'load';
  /** What went wrong, in words. */
  readonly reason: string;
  /** The worker could not start because `workerData` could not be cloned (`reason` says why). */
  readonly workerDataUnsendable?: boolean;
}

/** The worker ended after it was ready. */
export interface WorkerCrash<R> extends ExitTasks<R> {
  readonly kind: 'crashed';
  /** What ended it. */
  readonly crash: CrashReason;
  /** Its host stopped gracefully and gave it back (a cluster's worker): nothing crashed. An elastic pool goes on without it. */
  readonly handedBack?: boolean;
}

/** How a worker ended: a {@link WorkerLoadFailure} or a {@link WorkerCrash}. */
export type WorkerExit<R> = WorkerLoadFailure<R> | WorkerCrash<R>;

/** How a port tells the engine about things that belong to no task. */
export interface PortListener<R> {
  /** A value the worker sent with `ctx.emit`. */
  emitted(value: R): void;
  /** A value the worker sent with `ctx.emit` could not be cloned; it is dropped, the worker goes on. */
  unsendable(reason: string): void;
  /** Spans the worker's code ended (`registerWorkerTracing`); without it, this process exports them. */
  spans?(records: SpanRecord[]): void;
  /**
   * The worker is out of reach, with nothing known to be wrong with it: a cluster's worker
   * whose pool's connection is down, or whose host has not been heard for a while (`silentMs`:
   * since its last word). What it does meanwhile is told later, or its host is lost. Only a
   * port whose worker is across a network calls it; {@link backInReach} follows, or `exited`.
   */
  outOfReach?(silentMs: number): void;
  /** The worker is in reach again: its words come in again, in order, with none missing before them. */
  backInReach?(): void;
  /**
   * The worker ended, or will never be ready. Called once, never after `terminate()`, and
   * never before the port's constructor has returned.
   */
  exited(exit: WorkerExit<R>): void;
}

/** The core every port implements. */
export interface WorkerPort<T, R> {
  readonly index: number;
  /**
   * Resolves once the worker has run `init`; rejects with the {@link WorkerExit} if it never
   * will (`exited` gets it too), or with a `PoolClosedError` if `terminate()` came first.
   */
  readonly ready: Promise<void>;
  /**
   * True when the port reports `started` at the very moment a task starts (an inline worker).
   * Otherwise a task may start, and block its worker, before the engine hears of it.
   */
  readonly startsAtOnce?: boolean;
  /**
   * True when tasks should be handed over only once `ready` has resolved: a worker that is slow
   * to start (a process) would hold them meanwhile, while the others could run them.
   */
  readonly takesTasksWhenReady?: boolean;
  /**
   * True while the worker waits for a host to serve it (a cluster's worker that no host has a
   * free thread for): it holds no thread anywhere, and an elastic pool with nothing waiting
   * stops it at once.
   */
  readonly unserved?: boolean;
  /**
   * Milliseconds of work to keep at the worker beyond what it runs when `queueSize` is left to
   * its default: about a round trip to the worker and back, with the batching of both ends.
   * Without it, the worker is handed exactly `concurrency + queueSize` tasks.
   */
  readonly handAheadMs?: number;
  /**
   * Hands a task to the worker; what happens to it goes to `observer`, until it ends or is
   * cancelled. A worker runs tasks in the order they were handed over. `transfer` lists what
   * of the task to move rather than copy, where the port can move things (a thread); it
   * replaces the pool's `transfer` option for this task.
   * @returns a ticket for {@link cancel}.
   */
  run(task: T, observer: RunObserver<R>, transfer?: readonly Transferable[], traceparent?: string): number;
  /** The engine no longer wants task `ticket`: the worker aborts its `ctx.signal`; nothing more is reported of it. */
  cancel(ticket: number): void;
  /** Ends the worker now, as a crash: `exited` follows, with reason `'unresponsive'`. */
  kill(): void;
  /** Stops the worker; its tasks are dropped and nothing more is reported. */
  terminate(): Promise<void>;
}

/** A port that can tell whether its worker's event loop turns. */
export interface Probeable {
  /** Calls `answered` once the worker has read everything sent to it so far. A stuck worker never answers. */
  probe(answered: () => void): void;
}

/** A port that can tell, without asking the worker, whether its loop is blocked and by which task. */
export interface LoopWatch<R> {
  /** How long the worker's loop has not turned, and the task whose code runs there, if known. */
  blocked(): { readonly ms: number; readonly observer: RunObserver<R> | undefined } | undefined;
}

/**
 * A port whose worker paces its streaming tasks (`streamWindow`): the engine tells it, in
 * batches, how many values of a task the consumer has taken, and it passes that on.
 */
export interface Paced {
  /** Task `ticket`'s consumer has taken `n` more of its values; ignored once the task has ended. */
  grant(ticket: number, n: number): void;
}

/** A port whose worker runs elsewhere, and says where. */
export interface Located {
  /** `hostname:pid` of the process that runs the worker, once known. */
  readonly location: string | undefined;
}

/** A port whose worker measures itself. */
export interface Introspectable {
  sample(): Promise<WorkerSample>;
}

/** What a worker measures of itself, since its previous report. */
export interface WorkerFigures {
  /** Event-loop delay percentiles, in milliseconds. */
  readonly loopDelay: { readonly p50: number; readonly p99: number; readonly max: number };
  /** V8 heap of the worker's isolate, in bytes. */
  readonly heapUsed: number;
  readonly heapTotal: number;
}

/** A measurement of one worker. */
export interface WorkerSample {
  /** Event-loop utilization (0 to 1) since the previous sample; undefined where unknown. */
  readonly elu: number | undefined;
  /** What the worker reported of itself; undefined if it did not answer in time. */
  readonly figures: WorkerFigures | undefined;
}

/**
 * Starts worker number `index` and returns its port: the factory of ports that the engine
 * calls (not the `transport` option, a {@link ClusterTransport} of `cluster.ts`).
 */
export type PortFactory<T, R> = (index: number, listener: PortListener<R>) => WorkerPort<T, R>;

/** The port's capabilities, where it has them. */
export function canProbe<T, R>(port: WorkerPort<T, R>): (WorkerPort<T, R> & Probeable) | undefined {
  return typeof (port as Partial<Probeable>).probe === 'function' ? (port as WorkerPort<T, R> & Probeable) : undefined;
}

export function canWatch<T, R>(port: WorkerPort<T, R>): (WorkerPort<T, R> & LoopWatch<R>) | undefined {
  return typeof (port as Partial<LoopWatch<R>>).blocked === 'function' ? (port as WorkerPort<T, R> & LoopWatch<R>) : undefined;
}

export function canPace<T, R>(port: WorkerPort<T, R>): (WorkerPort<T, R> & Paced) | undefined {
  return typeof (port as Partial<Paced>).grant === 'function' ? (port as WorkerPort<T, R> & Paced) : undefined;
}

export function canSample<T, R>(port: WorkerPort<T, R>): (WorkerPort<T, R> & Introspectable) | undefined {
  return typeof (port as Partial<Introspectable>).sample === 'function' ? (port as WorkerPort<T, R> & Introspectable) : undefined;
}

import { join } from 'node:path';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort, type ResourceLimits, type TransferListItem } from 'node:worker_threads';
import type { ConnectResult } from '../worker/bootstrap';
import { Batcher, type BatchTransfers } from './batcher';
import { Outbox } from './outbox';
import {
  activeSlot,
  activityId,
  activitySlots,
  Op,
  readySlot,
  reviveError,
  startedBy,
  startedSlot,
  streamPace,
  type SerializedError,
  type WorkerSetup,
} from './protocol';
import { spawn, ThreadsWorkerShim, Transfer } from './threadsShim';
import type {
  Introspectable,
  LoopWatch,
  Paced,
  PortListener,
  Probeable,
  RunObserver,
  TaskAtExit,
  Transport,
  WorkerExit,
  WorkerFigures,
  WorkerPort,
  WorkerSample,
} from './transport';

/** How long (ms) to wait for a worker's figures before reporting without them. */
const sampleTimeout = 1_000;

/** The thread entry module; it loads the user's worker module itself. */
const bootstrapPath = join(__dirname, '..', 'worker', 'bootstrap.js');


/** What the threads transport needs to start a worker. */
export interface ThreadsTransportOptions {
  readonly workerData: unknown;
  /** Tasks a worker runs at once. */
  readonly concurrency: number;
  /** Heap limits of each thread, as `worker_threads` takes them. */
  readonly resourceLimits?: ResourceLimits | undefined;
  /** How long (ms) a stopping worker may run its abort handlers before it is terminated. */
  readonly gracePeriod: number;
  /** Values a streaming task may yield ahead of its consumer; unbounded without it. */
  readonly streamWindow?: number | undefined;
  /** Values of an Observable task that may wait in the worker for credit; unbounded without it. */
  readonly streamBuffer?: number | undefined;
  /** With a value, the worker writes a heartbeat often enough to tell a loop blocked this long (ms). */
  readonly blockingThreshold?: number | undefined;
  /** Milliseconds a task may run, if limited: with it (or `blockingThreshold`), a worker running several tasks at once follows each into its continuations. */
  readonly taskTimeout?: number | undefined;
  /** What of a task to transfer instead of copying. */
  readonly transfer?: ((task: never) => readonly TransferListItem[]) | undefined;
}

/** Runs each worker in a `worker_threads` thread, spawned through threads.js. */
export function threadsTransport<T, R>(modulePath: string, options: ThreadsTransportOptions): Transport<T, R> {
  return (index, listener) => new ThreadPort<T, R>(modulePath, index, options, listener);
}

type ExposedApi = { connect(port: MessagePort, setup: WorkerSetup): Promise<ConnectResult> };

/**
 * One worker thread. threads.js spawns it and carries one call, `connect`, which hands the
 * worker a MessagePort; every task and result then travels on that port in batches, so a
 * task costs no threads.js call. A shared buffer tells what the worker was doing when it
 * died without a word: which task held its loop, and which task it started last.
 */
class ThreadPort<T, R> implements WorkerPort<T, R>, Probeable, LoopWatch<R>, Introspectable, Paced {
  readonly ready: Promise<void>;
  /** Resolves when the thread has exited, for whatever reason. */
  private readonly exit: Promise<void> = Promise.resolve();
  /** Tasks sent and not yet ended, by id (the ticket), in the order they were sent. */
  private readonly running = new Map<number, RunObserver<R>>();
  /** Of those, the ones the worker said it started (tiny tasks end first and never get here). */
  private readonly startedIds = new Set<number>();
  /** Of those, the ones whose input was transferred, not copied. */
  private readonly transferredIds = new Set<number>();
  /** Id of the last task sent; ids start at 1. */
  private lastId = 0;
  /** Triples for the worker, posted once this turn's messages are read; dropped once stopped. */
  private readonly outbox = new Outbox((batch, transfers) => {
    if (this.state !== 'stopped') this.post(batch, transfers);
  });
  /** This side of the worker's MessagePort. */
  private readonly port: MessagePort;
  /** The worker's side, until `connect` has transferred it: closed here if the worker never got it. */
  private readonly workerEnd: MessagePort;
  private readonly batcher: Batcher;
  private readonly thread: Worker | undefined;
  private state: 'starting' | 'ready' | 'stopped' = 'starting';
  /** Set the moment the thread has exited; the exit is then reported by `exited`, not by `connect`. */
  private exitCode: number | undefined;
  /** The error that ended the thread, as the thread reported it. */
  private lastError: Error | undefined;
  /** Set when the thread reported an uncaught error just before it died. */
  private fatal = false;
  /** Set when `kill` ended the thread. */
  private killed = false;
  /** Shared with the worker: see `WorkerSetup.activity`. */
  private readonly activity = new Int32Array(new SharedArrayBuffer(activitySlots * 4));
  /** `[0]`: when the worker's loop last turned (`Date.now()`), if `blockingThreshold` is set. */
  private readonly heartbeat: Float64Array | undefined;
  /** Stats requests sent and not yet answered, by id. */
  private readonly samples = new Map<number, (figures: WorkerFigures) => void>();
  private lastSample = 0;
  /** The worker's event-loop utilization at the previous sample, to measure the next one from. */
  private previousElu: EventLoopUtilization | undefined;
  /** When killed: the activity id of the task that held the loop, 0 if none. */
  private blockedBy = 0;
  /** Pings sent and not yet answered, by id. */
  private readonly pings = new Map<number, () => void>();
  private lastPing = 0;
  private settleReady: { resolve(): void; reject(error: unknown): void } | undefined;

  constructor(
    private readonly modulePath: string,
    readonly index: number,
    private readonly options: ThreadsTransportOptions,
    private readonly listener: PortListener<R>,
  ) {
    this.ready = new Promise<void>((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.heartbeat = options.blockingThreshold === undefined ? undefined : new Float64Array(new SharedArrayBuffer(8));
    this.ready.catch(noop); // the failure is reported through the listener
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.workerEnd = port2;
    this.batcher = new Batcher(port1);
    port1.on('message', (batch: unknown[]) => this.receive(batch));
    try {
      this.thread = new Worker(bootstrapPath, {
        workerData: options.workerData,
        ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      });
    } catch (error) {
      this.state = 'stopped';
      port1.close();
      port2.close();
      this.loadFailed(`workerData cannot be cloned: ${messageOf(error)}`, undefined, true);
      return;
    }
    this.thread.on('error', (error) => (this.lastError = error));
    this.exit = new Promise((resolve) => this.thread!.once('exit', () => resolve()));
    this.thread.on('exit', (code) => {
      this.exitCode = code;
      this.exited(code);
    });
    this.connect(port2).catch((error: unknown) => {
      if (this.state !== 'starting' || this.exitCode !== undefined) return;
      this.abandon('the thread did not start', error as Error);
    });
  }

  run(task: T, observer: RunObserver<R>, only?: readonly TransferListItem[]): number {
    const id = ++this.lastId;
    const transfer = only ?? this.options.transfer?.(task as never);
    this.running.set(id, observer);
    if (transfer !== undefined && transfer.length > 0) this.transferredIds.add(id);
    if (this.state !== 'stopped') this.send(Op.run, id, task, transfer);
    return id;
  }

  cancel(ticket: number): void {
    if (this.forget(ticket) && this.state !== 'stopped') this.send(Op.cancel, ticket, 0);
  }

  grant(ticket: number, n: number): void {
    if (this.running.has(ticket) && this.state !== 'stopped') this.send(Op.credit, ticket, n);
  }

  probe(answered: () => void): void {
    const id = ++this.lastPing;
    this.pings.set(id, answered);
    this.send(Op.ping, id, 0);
  }

  async sample(): Promise<WorkerSample> {
    const elu = this.thread && this.state === 'ready' ? this.thread.performance.eventLoopUtilization(this.previousElu) : undefined;
    if (elu) this.previousElu = this.thread!.performance.eventLoopUtilization();
    if (this.state !== 'ready') return { elu: undefined, figures: undefined };
    const id = ++this.lastSample;
    const figures = await new Promise<WorkerFigures | undefined>((resolve) => {
      // A blocked worker cannot answer: report what is known without its own figures.
      const timer = setTimeout(() => {
        this.samples.delete(id);
        resolve(undefined);
      }, sampleTimeout);
      this.samples.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.send(Op.stats, id, 0);
    });
    return { elu: elu?.utilization, figures };
  }

  blocked(): { readonly ms: number; readonly observer: RunObserver<R> | undefined } | undefined {
    if (!this.heartbeat || this.state !== 'ready' || this.heartbeat[0] === 0) return undefined;
    return { ms: Date.now() - this.heartbeat[0]!, observer: this.holder(Atomics.load(this.activity, activeSlot)) };
  }

  kill(): void {
    if (this.state === 'stopped' || this.killed) return;
    this.killed = true;
    this.blockedBy = Atomics.load(this.activity, activeSlot);
    void this.thread?.terminate();
  }

  /**
   * Stops the worker. A ready worker is asked to abort its tasks' signals and exit, and is
   * terminated if it has not within `gracePeriod`; a worker still starting is terminated at
   * once.
   */
  async terminate(): Promise<void> {
    if (this.state === 'stopped') return this.exit;
    const graceful = this.state === 'ready';
    this.forgetAll();
    this.settleReady = undefined;
    if (graceful) {
      this.outbox.add(Op.stop, 0, 0);
      this.outbox.flush();
    }
    this.state = 'stopped';
    this.outbox.clear();
    const thread = this.thread;
    if (thread) {
      const timer = setTimeout(() => void thread.terminate(), graceful ? this.options.gracePeriod : 0);
      await this.exit;
      clearTimeout(timer);
    }
    this.port.close();
    this.workerEnd.close();
  }

  private async connect(port: MessagePort): Promise<void> {
    const thread = await spawn<ExposedApi>(new ThreadsWorkerShim(this.thread!) as never);
    if (this.state !== 'starting' || this.exitCode !== undefined) return;
    const setup: WorkerSetup = {
      modulePath: this.modulePath,
      index: this.index,
      concurrency: this.options.concurrency,
      followContinuations:
        this.options.concurrency > 1 && (this.options.taskTimeout !== undefined || this.options.blockingThreshold !== undefined),
      activity: this.activity.buffer as SharedArrayBuffer,
      heartbeat: this.heartbeat?.buffer as SharedArrayBuffer | undefined,
      heartbeatEvery: this.options.blockingThreshold === undefined ? 0 : Math.max(5, Math.floor(this.options.blockingThreshold / 4)),
      pace: streamPace(this.options),
    };
    const result = await thread.connect(Transfer(port as never) as never, setup);
    if (this.state !== 'starting' || this.exitCode !== undefined) return;
    if (!result.ok) {
      this.abandon(result.reason, result.error && reviveError(result.error));
      return;
    }
    this.state = 'ready';
    this.settleReady?.resolve();
    this.settleReady = undefined;
  }

  private receive(batch: unknown[]): void {
    for (let i = 0; i < batch.length && this.state !== 'stopped'; i += 3) {
      const op = batch[i] as Op;
      const id = batch[i + 1] as number;
      const payload = batch[i + 2];
      switch (op) {
        case Op.next:
          this.running.get(id)?.next(payload as R);
          break;
        case Op.last: {
          const observer = this.running.get(id);
          if (!observer) break;
          this.forget(id);
          observer.next(payload as R);
          observer.complete();
          break;
        }
        case Op.started: {
          const observer = this.running.get(id);
          if (observer && !this.startedIds.has(id)) {
            this.startedIds.add(id);
            observer.started();
          }
          break;
        }
        case Op.emit:
          this.listener.emitted(payload as R);
          break;
        case Op.emitUnserializable:
          this.listener.unsendable(payload as string);
          break;
        case Op.fatal:
          this.lastError = reviveError(payload as SerializedError);
          this.fatal = true;
          break;
        case Op.pong:
          this.pings.get(id)?.();
          this.pings.delete(id);
          break;
        case Op.stats:
          this.samples.get(id)?.(payload as WorkerFigures);
          this.samples.delete(id);
          break;
        default:
          this.settle(op, id, payload);
      }
    }
  }

  /** The task's last message: it completed or failed. */
  private settle(op: Op, id: number, payload: unknown): void {
    const observer = this.running.get(id);
    if (!observer) return;
    this.forget(id);
    if (op === Op.complete) observer.complete();
    else if (op === Op.error) observer.error({ kind: 'threw', error: reviveError(payload as SerializedError) });
    else observer.error({ kind: 'unserializable', subject: 'result', reason: payload as string });
  }

  /** Task `id` has ended or is no longer wanted; false if it was not running. */
  private forget(id: number): boolean {
    if (!this.running.delete(id)) return false;
    if (this.startedIds.size > 0) this.startedIds.delete(id);
    if (this.transferredIds.size > 0) this.transferredIds.delete(id);
    return true;
  }

  private forgetAll(): void {
    this.running.clear();
    this.startedIds.clear();
    this.transferredIds.clear();
  }

  private send(op: Op, id: number, payload: unknown, transfer?: readonly TransferListItem[]): void {
    this.outbox.add(op, id, payload, transfer);
  }

  private post(batch: unknown[], transfers: BatchTransfers): void {
    this.batcher.post(batch, transfers, (part, partTransfers) => this.postOneByOne(part, partTransfers));
  }

  /** A batch failed to clone: send what can be sent and fail the tasks that cannot. */
  private postOneByOne(batch: unknown[], transfers: BatchTransfers): void {
    for (let i = 0; i < batch.length; i += 3) {
      const id = batch[i + 1] as number;
      try {
        this.port.postMessage([batch[i], id, batch[i + 2]], transfers.get(i) as TransferListItem[] | undefined);
      } catch (error) {
        const observer = this.running.get(id);
        this.forget(id);
        observer?.error({ kind: 'unserializable', subject: 'task', reason: messageOf(error) });
      }
    }
  }

  /** The task whose activity id is `active`, if it is still running. */
  private holder(active: number): RunObserver<R> | undefined {
    if (active === 0) return undefined;
    for (const [id, observer] of this.running) if (activityId(id) === active) return observer;
    return undefined;
  }

  private exited(code: number): void {
    if (this.state === 'stopped') return;
    setImmediate(() => {
      if (this.state === 'stopped') return;
      if (!this.drain()) return;
      // The worker may have been ready, and died under a task, before the answer to connect arrived.
      const wasReady = this.state === 'ready' || Atomics.load(this.activity, readySlot) === 1;
      this.state = 'stopped';
      this.outbox.clear();
      this.port.close();
      this.workerEnd.close();
      if (!wasReady) {
        this.loadFailed(`the thread exited with code ${code} while loading`, this.lastError);
        return;
      }
      this.settleReady?.resolve();
      this.settleReady = undefined;
      // A thread that exited by itself (its own code) while being killed was not stuck: `terminate()` exits with 1.
      const crash = this.killed && code === 1 ? 'unresponsive' : (this.lastError as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out of memory' : this.fatal ? 'uncaught error' : 'exited';
      const active = this.killed ? this.blockedBy : Atomics.load(this.activity, activeSlot);
      const lastStarted = Atomics.load(this.activity, startedSlot);
      const tasks: Array<TaskAtExit<R>> = [];
      for (const [id, observer] of this.running) {
        tasks.push({
          observer,
          started: this.startedIds.has(id) || startedBy(id, lastStarted),
          blocking: active !== 0 && activityId(id) === active,
          transferred: this.transferredIds.has(id),
        });
      }
      this.forgetAll();
      this.listener.exited({ kind: 'crashed', reason: crash, crash, exitCode: code, error: this.lastError, tasks });
    });
  }

  /**
   * Reads what the worker posted before it died (results flushed on exit, its fatal error), so
   * that a task whose end was posted counts as ended before what is left fails.
   * @returns false if what it read stopped this port (the pool may have ended meanwhile).
   */
  private drain(): boolean {
    for (let message = receiveMessageOnPort(this.port); message; message = receiveMessageOnPort(this.port)) {
      this.receive(message.message as unknown[]);
    }
    return this.state !== 'stopped';
  }

  /** The worker will not be ready: report why, with its tasks (none started), and stop it. */
  private abandon(reason: string, error: Error | undefined): void {
    this.loadFailed(reason, error);
    void this.terminate();
  }

  private loadFailed(reason: string, error: Error | undefined, workerDataUnsendable = false): void {
    const tasks = [...this.running].map(([id, observer]) => ({ observer, started: false, blocking: false, transferred: this.transferredIds.has(id) }));
    this.forgetAll();
    const exit: WorkerExit<R> = { kind: 'load', reason, crash: 'exited', exitCode: this.exitCode ?? 1, error, tasks, workerDataUnsendable };
    this.settleReady?.reject(exit);
    this.settleReady = undefined;
    this.listener.exited(exit);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function noop(): void {}

import { join } from 'node:path';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort, type Transferable } from 'node:worker_threads';
import { noop } from '../noop';
import type { SpanRecord } from '../otel/record';
import { exportWorkerSpans } from '../otel/relay';
import { Batcher, type BatchTransfers } from './batcher';
import { Ledger } from './ledger';
import { Outbox } from './outbox';
import type { WorkerStartOptions } from './startOptions';
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
  type ConnectResult,
  type SerializedError,
  type WorkerSetup,
} from './protocol';
import { Readiness } from './readiness';
import { Requests } from './requests';
import { spawn, ThreadsWorkerShim, Transfer } from './threadsShim';
import { missingOwnFile } from './ownFiles';
import type {
  Introspectable,
  LoopWatch,
  Paced,
  PortListener,
  Probeable,
  RunObserver,
  PortFactory,
  WorkerExit,
  WorkerFigures,
  WorkerPort,
  WorkerSample,
} from './transport';

/** How long (ms) to wait for a worker's figures before reporting without them. */
const sampleTimeout = 1_000;

/** The thread entry module; it loads the user's worker module itself. */
const bootstrapPath = join(__dirname, '..', 'worker', 'bootstrap.js');


/** What the threads transport reads of {@link WorkerStartOptions} (a host's served worker gives no heap limits or `transfer`). */
export type ThreadsTransportOptions = Pick<WorkerStartOptions, 'workerData' | 'concurrency' | 'gracePeriod'> &
  Partial<Pick<WorkerStartOptions, 'resourceLimits' | 'blockingThreshold' | 'taskTimeout' | 'transfer' | 'streamWindow' | 'streamBuffer'>>;

/** Runs each worker in a `worker_threads` thread, spawned through threads.js. */
export function threadsTransport<T, R>(modulePath: string, options: ThreadsTransportOptions): PortFactory<T, R> {
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
  private readonly readiness = new Readiness();
  readonly ready = this.readiness.promise;
  /** A batch crosses in well under a millisecond; 4 ms also covers a busy machine's turns. */
  readonly handAheadMs = 4;
  /** Resolves when the thread has exited, for whatever reason. */
  private readonly exit: Promise<void> = Promise.resolve();
  /** Tasks sent and not yet ended; their tickets are the ids the worker knows them by. */
  private readonly ledger = new Ledger<R>();
  /** Pings and stats requests sent and not yet answered. */
  private readonly requests = new Requests();
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
  /** The worker's event-loop utilization at the previous sample, to measure the next one from. */
  private previousElu: EventLoopUtilization | undefined;
  /** When killed: the activity id of the task that held the loop, 0 if none. */
  private blockedBy = 0;

  constructor(
    private readonly modulePath: string,
    readonly index: number,
    private readonly options: ThreadsTransportOptions,
    private readonly listener: PortListener<R>,
  ) {
    this.heartbeat = options.blockingThreshold === undefined ? undefined : new Float64Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.workerEnd = port2;
    this.batcher = new Batcher(port1);
    port1.on('message', (batch: unknown[]) => this.receive(batch));
    const missing = missingOwnFile(bootstrapPath);
    if (missing) {
      this.state = 'stopped';
      port1.close();
      port2.close();
      queueMicrotask(() => this.readiness.pending && this.loadFailed(missing, undefined));
      return;
    }
    try {
      this.thread = new Worker(bootstrapPath, {
        workerData: options.workerData,
        ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      });
    } catch (error) {
      this.state = 'stopped';
      port1.close();
      port2.close();
      const reason = `workerData cannot be cloned: ${messageOf(error)}`;
      queueMicrotask(() => this.readiness.pending && this.loadFailed(reason, undefined, true));
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

  run(task: T, observer: RunObserver<R>, only?: readonly Transferable[], traceparent?: string): number {
    const transfer = only ?? this.options.transfer?.(task as never);
    const id = this.ledger.hand(observer, transfer !== undefined && transfer.length > 0);
    if (this.state === 'stopped') return id;
    if (traceparent) this.outbox.add(Op.runTraced, id, [task, traceparent], transfer);
    else this.outbox.add(Op.run, id, task, transfer);
    return id;
  }

  cancel(ticket: number): void {
    if (this.ledger.end(ticket) && this.state !== 'stopped') this.outbox.add(Op.cancel, ticket, 0);
  }

  grant(ticket: number, n: number): void {
    if (this.ledger.has(ticket) && this.state !== 'stopped') this.outbox.add(Op.credit, ticket, n);
  }

  probe(answered: () => void): void {
    this.requests.open(Op.ping, (id) => this.outbox.add(Op.ping, id, 0), answered, noop);
  }

  async sample(): Promise<WorkerSample> {
    const elu = this.thread && this.state === 'ready' ? this.thread.performance.eventLoopUtilization(this.previousElu) : undefined;
    if (elu) this.previousElu = this.thread!.performance.eventLoopUtilization();
    if (this.state !== 'ready') return { elu: undefined, figures: undefined };
    // A blocked worker cannot answer: report what is known without its own figures.
    const figures = (await this.requests.ask(Op.stats, (id) => this.outbox.add(Op.stats, id, 0), sampleTimeout)) as WorkerFigures | undefined;
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
    if (this.state === 'stopped') {
      this.readiness.terminated(); // a load failure not yet reported
      return this.exit;
    }
    const graceful = this.state === 'ready';
    this.ledger.clear();
    this.requests.close();
    this.readiness.terminated();
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
    this.readiness.resolve();
  }

  private receive(batch: unknown[]): void {
    const { ledger } = this;
    for (let i = 0; i < batch.length && this.state !== 'stopped'; i += 3) {
      const op = batch[i] as Op;
      const id = batch[i + 1] as number;
      const payload = batch[i + 2];
      switch (op) {
        case Op.next:
          ledger.next(id, payload as R);
          break;
        case Op.last: {
          const observer = ledger.end(id);
          observer?.next(payload as R);
          observer?.complete();
          break;
        }
        case Op.complete:
          ledger.end(id)?.complete();
          break;
        case Op.error:
          ledger.end(id)?.error({ kind: 'threw', error: reviveError(payload as SerializedError) });
          break;
        case Op.unserializable:
          ledger.end(id)?.error({ kind: 'unserializable', subject: 'result', reason: payload as string });
          break;
        case Op.started:
          ledger.started(id);
          break;
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
        case Op.stats:
          this.requests.answer(id, payload);
          break;
        case Op.spans:
          exportWorkerSpans(payload as SpanRecord[]);
          break;
      }
    }
  }

  private post(batch: unknown[], transfers: BatchTransfers): void {
    this.batcher.post(batch, transfers, (part, partTransfers) => this.postOneByOne(part, partTransfers));
  }

  /** A batch failed to clone: send what can be sent and fail the tasks that cannot. */
  private postOneByOne(batch: unknown[], transfers: BatchTransfers): void {
    for (let i = 0; i < batch.length; i += 3) {
      const id = batch[i + 1] as number;
      try {
        this.port.postMessage([batch[i], id, batch[i + 2]], transfers.get(i) as Transferable[] | undefined);
      } catch (error) {
        this.ledger.end(id)?.error({ kind: 'unserializable', subject: 'task', reason: messageOf(error) });
      }
    }
  }

  /** The task whose activity id is `active`, if it is still running. */
  private holder(active: number): RunObserver<R> | undefined {
    if (active === 0) return undefined;
    for (const [id, { observer }] of this.ledger.entries()) if (activityId(id) === active) return observer;
    return undefined;
  }

  private exited(code: number): void {
    if (this.state === 'stopped') return;
    setImmediate(() => {
      if (this.state === 'stopped') return;
      if (!this.drain()) return;
      // The worker may have been ready, and died under a task, before the answer to connect arrived.
      const wasReady = this.state === 'ready' || Atomics.load(this.activity, readySlot) === 1;
      this.stopped();
      if (!wasReady) {
        this.loadFailed(`the thread exited with code ${code} while loading`, this.lastError);
        return;
      }
      this.readiness.resolve();
      // A thread that exited by itself (its own code) while being killed was not stuck: `terminate()` exits with 1.
      const crash = this.killed && code === 1 ? 'unresponsive' : (this.lastError as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out of memory' : this.fatal ? 'uncaught error' : 'exited';
      const active = this.killed ? this.blockedBy : Atomics.load(this.activity, activeSlot);
      const lastStarted = Atomics.load(this.activity, startedSlot);
      const tasks = this.ledger.atExit((id) => ({ started: startedBy(id, lastStarted), blocking: active !== 0 && activityId(id) === active }));
      this.listener.exited({ kind: 'crashed', crash, exitCode: code, error: this.lastError, tasks });
    });
  }

  /** The thread is gone: nothing more goes to it, nothing more is asked of it. */
  private stopped(): void {
    this.state = 'stopped';
    this.outbox.clear();
    this.requests.close();
    this.port.close();
    this.workerEnd.close();
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
    const exit: WorkerExit<R> = { kind: 'load', reason, exitCode: this.exitCode ?? 1, error, tasks: this.ledger.atExit(), workerDataUnsendable };
    this.readiness.fail(exit);
    this.listener.exited(exit);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}


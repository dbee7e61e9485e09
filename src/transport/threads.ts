import { join } from 'node:path';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort, type Transferable } from 'node:worker_threads';
import { BatchPort, messageOf } from './batchPort';
import type { WorkerStartOptions } from './startOptions';
import {
  activeSlot,
  activityId,
  activitySlots,
  readySlot,
  reviveError,
  startedBy,
  startedSlot,
  streamPace,
  type ConnectResult,
  type WorkerSetup,
} from './protocol';
import { missingOwnFile } from './ownFiles';
import type { Introspectable, LoopWatch, PortListener, RunObserver, WorkerSample } from './transport';

/** The thread entry module; it loads the user's worker module itself. */
const bootstrapPath = join(__dirname, '..', 'worker', 'bootstrap.js');

/** What the threads transport reads of {@link WorkerStartOptions} (a host's served worker gives no heap limits or `transfer`). */
export type ThreadsTransportOptions = Pick<WorkerStartOptions, 'workerData' | 'concurrency' | 'gracePeriod'> &
  Partial<Pick<WorkerStartOptions, 'resourceLimits' | 'blockingThreshold' | 'taskTimeout' | 'transfer' | 'streamWindow' | 'streamBuffer'>>;

/** Runs each worker in a `worker_threads` thread. */
export function threadsTransport<T, R>(modulePath: string, options: ThreadsTransportOptions): (index: number, listener: PortListener<R>) => ThreadPort<T, R> {
  return (index, listener) => new ThreadPort<T, R>(modulePath, index, options, listener);
}

/**
 * One worker thread. Its first message hands the bootstrap a MessagePort and the setup, and its
 * one answer on the thread's own channel says whether the worker loaded; every task and result
 * travels on that port in batches. A shared buffer tells what the worker was doing when it
 * died without a word: which task held its loop, and which task it started last.
 */
export class ThreadPort<T, R> extends BatchPort<T, R> implements LoopWatch<R>, Introspectable {
  /** A batch crosses in well under a millisecond; 4 ms also covers a busy machine's turns. */
  readonly handAheadMs = 4;
  /** This side of the worker's MessagePort. */
  private readonly port: MessagePort;
  /** The worker's side, until it is posted to the thread: closed here if the thread was never made. */
  private readonly workerEnd: MessagePort;
  private readonly thread: Worker | undefined;
  /** Set the moment the thread has exited; the exit is then reported by `exited`, not by the answer. */
  private exitCode: number | undefined;
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
    index: number,
    private readonly options: ThreadsTransportOptions,
    listener: PortListener<R>,
  ) {
    super(index, listener, options.gracePeriod);
    this.heartbeat = options.blockingThreshold === undefined ? undefined : new Float64Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.workerEnd = port2;
    port1.on('message', (batch: unknown[]) => this.receive(batch));
    const missing = missingOwnFile(bootstrapPath);
    if (missing) {
      this.failAtStart(missing);
      return;
    }
    try {
      this.thread = new Worker(bootstrapPath, {
        workerData: options.workerData,
        ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      });
    } catch (error) {
      this.failAtStart(`workerData cannot be cloned: ${messageOf(error)}`, true);
      return;
    }
    this.thread.on('error', (error) => (this.lastError = error));
    this.exit = new Promise((resolve) => this.thread!.once('exit', () => resolve()));
    this.thread.on('exit', (code) => {
      this.exitCode = code;
      this.exited(code);
    });
    // Only the bootstrap's answer is read here: anything the user's code posts on `parentPort` is not.
    this.thread.on('message', (message: { connected?: ConnectResult } | null) => message?.connected && this.connected(message.connected));
    this.thread.postMessage({ port: port2, setup: this.setup() }, [port2]);
  }

  async sample(): Promise<WorkerSample> {
    if (this.state !== 'ready') return { elu: undefined, figures: undefined };
    const elu = this.thread!.performance.eventLoopUtilization(this.previousElu);
    this.previousElu = this.thread!.performance.eventLoopUtilization();
    // A blocked worker cannot answer: report what is known without its own figures.
    return { elu: elu.utilization, figures: await this.figures() };
  }

  blocked(): { readonly ms: number; readonly observer: RunObserver<R> | undefined } | undefined {
    if (!this.heartbeat || this.state !== 'ready' || this.heartbeat[0] === 0) return undefined;
    return { ms: Date.now() - this.heartbeat[0]!, observer: this.holder(Atomics.load(this.activity, activeSlot)) };
  }

  protected send(message: unknown[], transfer?: readonly Transferable[]): void {
    this.port.postMessage(message, transfer as Transferable[] | undefined);
  }

  protected halt(): void {
    this.blockedBy = Atomics.load(this.activity, activeSlot);
    void this.thread?.terminate();
  }

  protected override transferOf(task: T, only: readonly Transferable[] | undefined): readonly Transferable[] | undefined {
    return only ?? this.options.transfer?.(task as never);
  }

  private setup(): WorkerSetup {
    return {
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
  }

  /** The bootstrap's answer: the worker serves tasks, or why it does not. */
  private connected(result: ConnectResult): void {
    if (this.state !== 'starting' || this.exitCode !== undefined) return;
    if (!result.ok) {
      this.abandon(result.reason, result.error && reviveError(result.error));
      return;
    }
    this.state = 'ready';
    this.readiness.resolve();
  }

  /**
   * The bootstrap's answer travels on another channel than the results, and may come after
   * them: the ready slot tells that the worker has loaded and takes tasks from its port. One
   * still loading (0) is barred (-1) in the same step: it will take no task (see bootstrap.ts).
   */
  protected override mayHaveStarted(): boolean {
    return super.mayHaveStarted() || Atomics.compareExchange(this.activity, readySlot, 0, -1) === 1;
  }

  /** The task whose activity id is `active`, if it is still running. */
  private holder(active: number): RunObserver<R> | undefined {
    if (active === 0) return undefined;
    for (const [id, { observer }] of this.ledger.entries()) if (activityId(id) === active) return observer;
    return undefined;
  }

  private exited(code: number): void {
    setImmediate(() => {
      if (this.state === 'stopped') return;
      if (!this.drain()) return;
      // The worker may have been ready, and died under a task, before the answer to connect arrived.
      const wasReady = this.state === 'ready' || Atomics.load(this.activity, readySlot) === 1;
      this.stopped();
      if (!wasReady) {
        this.loadFailed(`the thread exited with code ${code} while loading`, this.lastError, code);
        return;
      }
      const active = this.killed ? this.blockedBy : Atomics.load(this.activity, activeSlot);
      const lastStarted = Atomics.load(this.activity, startedSlot);
      const outOfMemory = (this.lastError as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      // A thread that exited by itself (its own code) while being killed was not stuck: `terminate()` exits with 1.
      this.crashed(this.killed && code === 1, outOfMemory, code, this.lastError, (id) => ({
        started: startedBy(id, lastStarted),
        blocking: active !== 0 && activityId(id) === active,
      }));
    });
  }

  protected override stopped(): void {
    super.stopped();
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
    this.loadFailed(reason, error, this.exitCode ?? 1);
    void this.terminate();
  }
}


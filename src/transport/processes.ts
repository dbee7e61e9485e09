import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';
import { KilledBySignal } from '../errors';
import { noop } from '../noop';
import type { SpanRecord } from '../otel/record';
import { exportWorkerSpans } from '../otel/relay';
import { Batcher, type BatchTransfers } from './batcher';
import { Ledger } from './ledger';
import { Outbox } from './outbox';
import { spawnInGroup } from './processGroup';
import { isProcessMessage, ProcessOp, type ProcessSetup } from './processProtocol';
import type { WorkerStartOptions } from './startOptions';
import { Op, reviveError, streamPace, type LoadFailure, type SerializedError } from './protocol';
import { Readiness } from './readiness';
import { Requests } from './requests';
import type {
  Introspectable,
  Paced,
  PortListener,
  Probeable,
  RunObserver,
  TaskAtExit,
  PortFactory,
  WorkerExit,
  WorkerFigures,
  WorkerPort,
  WorkerSample,
} from './transport';

import { missingOwnFile } from './ownFiles';

/** The worker host each process runs (the package's `looppool-worker` bin). */
const hostPath = join(__dirname, '..', 'host', 'main.js');

/** How long (ms) to wait for a worker's figures before reporting without them. */
const sampleTimeout = 1_000;

/** How much of a worker's stderr is kept, to tell why it died (V8 prints "heap out of memory" there). */
const stderrKept = 4_096;

/** What the processes transport reads of {@link WorkerStartOptions}. */
export type ProcessesTransportOptions = Pick<WorkerStartOptions, 'workerData' | 'concurrency' | 'gracePeriod' | 'name'> &
  Partial<Pick<WorkerStartOptions, 'resourceLimits' | 'streamWindow' | 'streamBuffer'>>;

/** Runs each worker in a child process of its own, the `looppool-worker` host, over Node's IPC channel. */
export function processesTransport<T, R>(modulePath: string, options: ProcessesTransportOptions): PortFactory<T, R> {
  return (index, listener) => new ProcessPort<T, R>(modulePath, index, options, listener);
}

/**
 * One worker process. It is forked with an IPC channel and `serialization: 'advanced'`, so
 * tasks and results cross as structured clones, in the same batches of triples as a thread's.
 * Nothing is shared: what the process was doing when it died is inferred from the order of
 * its messages (tasks start in the order they were sent, and a task that waited announces its
 * start after the end of the one before it), and whether its loop turns is asked by a ping.
 */
class ProcessPort<T, R> implements WorkerPort<T, R>, Probeable, Introspectable, Paced {
  private readonly readiness = new Readiness();
  readonly ready = this.readiness.promise;
  /** A process takes about 100 ms to start: until it is ready, the other workers take its tasks. */
  readonly takesTasksWhenReady = true;
  /** A batch crosses a pipe and is parsed at both ends: slower than a thread's. */
  readonly handAheadMs = 8;
  /** Resolves when the process has exited and its channel and stderr have closed. */
  private readonly exit: Promise<void> = Promise.resolve();
  /** Tasks sent and not yet ended; their tickets are the ids the worker knows them by. */
  private readonly ledger = new Ledger<R>();
  /** Pings and figure requests (the worker's and its host's) sent and not yet answered. */
  private readonly requests = new Requests();
  /** Triples for the worker, posted once this turn's messages are read; dropped once stopped. */
  private readonly outbox = new Outbox((batch) => {
    if (this.state !== 'stopped') this.post(batch);
  });
  private readonly batcher: Batcher;
  private readonly child: ChildProcess | undefined;
  private state: 'starting' | 'ready' | 'stopped' = 'starting';
  /** What the host said when the worker could not start. */
  private failure: LoadFailure | undefined;
  /** The error that ended the worker, as it reported it. */
  private lastError: Error | undefined;
  /** What went wrong with the process or its channel (it could not be spawned, a write failed): reported only if nothing better is known. */
  private channelError: Error | undefined;
  /** Set when the worker reported an uncaught error just before it died. */
  private fatal = false;
  /** Set when `kill` ended the process. */
  private killed = false;
  /** The end of the worker's stderr, at most {@link stderrKept} characters. */
  private stderrTail = '';

  constructor(
    modulePath: string,
    readonly index: number,
    private readonly options: ProcessesTransportOptions,
    private readonly listener: PortListener<R>,
  ) {
    this.batcher = new Batcher({ postMessage: (message) => this.child?.connected && this.child.send(message) });
    const setup: ProcessSetup = {
      modulePath,
      index,
      concurrency: options.concurrency,
      workerData: options.workerData,
      title: `${options.name}#${index}`,
      pace: streamPace(options),
    };
    try {
      serialize(setup);
    } catch (error) {
      this.state = 'stopped';
      const reason = `workerData cannot be cloned: ${messageOf(error)}`;
      queueMicrotask(() => this.readiness.pending && this.loadFailed(reason, undefined, 1, true));
      return;
    }
    const missing = missingOwnFile(hostPath);
    if (missing) {
      this.state = 'stopped';
      queueMicrotask(() => this.readiness.pending && this.loadFailed(missing, undefined, 1));
      return;
    }
    // A process group of its own, in the pool's session (its priority and CPU share): Ctrl-C or
    // a supervisor's SIGTERM to the pool's group does not reach it, not even while it boots,
    // before its host can ignore them. The pool stops it by message; it exits by itself when
    // the pool's process dies (its channel closes).
    const child = spawnInGroup(process.execPath, [...inheritedFlags(process.execArgv), ...heapFlags(options.resourceLimits), hostPath], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    this.child = child;
    child.on('error', (error) => (this.channelError ??= error));
    child.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-stderrKept);
    });
    child.on('message', (message: unknown[]) => this.receive(message));
    // 'close' comes once the process has exited and its IPC channel and stderr have closed:
    // every message it sent has been read.
    this.exit = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        this.exited(code, signal);
        resolve();
      }),
    );
    child.send([ProcessOp.setup, 0, setup]);
  }

  run(task: T, observer: RunObserver<R>, _transfer?: readonly unknown[], traceparent?: string): number {
    const id = this.ledger.hand(observer);
    if (this.state === 'stopped') return id;
    if (traceparent) this.outbox.add(Op.runTraced, id, [task, traceparent]);
    else this.outbox.add(Op.run, id, task);
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
    if (this.state !== 'ready') return { elu: undefined, figures: undefined };
    // The process measures its own loop: a blocked one answers neither, and is reported without figures.
    const [elu, figures] = await Promise.all([
      this.requests.ask(ProcessOp.sample, (id) => this.child?.connected && this.child.send([ProcessOp.sample, id, 0]), sampleTimeout),
      this.requests.ask(Op.stats, (id) => this.outbox.add(Op.stats, id, 0), sampleTimeout),
    ]);
    return { elu: elu as number | undefined, figures: figures as WorkerFigures | undefined };
  }

  kill(): void {
    if (this.state === 'stopped' || this.killed) return;
    this.killed = true;
    this.child?.kill('SIGKILL');
  }

  /**
   * Stops the worker. A ready worker is asked to abort its tasks' signals and exit, and is
   * killed if it has not within `gracePeriod`; a worker still starting is killed at once.
   */
  async terminate(): Promise<void> {
    this.readiness.terminated();
    if (this.state === 'stopped') return this.exit;
    const graceful = this.state === 'ready';
    this.ledger.clear();
    this.requests.close();
    if (graceful) {
      this.outbox.add(Op.stop, 0, 0);
      this.outbox.flush();
    }
    this.state = 'stopped';
    this.outbox.clear();
    const child = this.child;
    if (child) {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceful ? this.options.gracePeriod : 0);
      await this.exit;
      clearTimeout(timer);
    }
  }

  private receive(batch: unknown[]): void {
    if (isProcessMessage(batch)) return this.fromHost(batch[0] as number, batch[1] as number, batch[2]);
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

  private fromHost(op: number, id: number, payload: unknown): void {
    if (op === ProcessOp.sample) return this.requests.answer(id, payload);
    if (this.state !== 'starting') return;
    if (op === ProcessOp.ready) {
      this.state = 'ready';
      this.readiness.resolve();
    } else if (op === ProcessOp.failed) {
      this.failure = payload as LoadFailure;
    }
  }

  private post(batch: unknown[]): void {
    this.batcher.post(batch, noTransfers, (part) => this.postOneByOne(part));
  }

  /** A batch failed to clone: send what can be sent and fail the tasks that cannot. */
  private postOneByOne(batch: unknown[]): void {
    for (let i = 0; i < batch.length; i += 3) {
      const id = batch[i + 1] as number;
      try {
        if (this.child?.connected) this.child.send([batch[i], id, batch[i + 2]]);
      } catch (error) {
        this.ledger.end(id)?.error({ kind: 'unserializable', subject: 'task', reason: unsendable(error) });
      }
    }
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.state === 'stopped') return;
    const wasReady = this.state === 'ready';
    this.state = 'stopped';
    this.outbox.clear();
    this.requests.close();
    const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
    const error = this.lastError ?? (signal ? new KilledBySignal(signal) : this.channelError);
    if (!wasReady) {
      const failure = this.failure;
      if (failure) return this.loadFailed(failure.reason, failure.error && reviveError(failure.error), exitCode);
      const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
      return this.loadFailed(`the worker process ${how} while loading`, error, exitCode);
    }
    const crash =
      this.killed && signal === 'SIGKILL'
        ? 'unresponsive'
        : /heap out of memory/i.test(this.stderrTail)
          ? 'out of memory'
          : this.fatal
            ? 'uncaught error'
            : 'exited';
    this.listener.exited({ kind: 'crashed', crash, exitCode, error, tasks: this.atExit() });
  }

  /**
   * What is known of each unfinished task, with no shared memory to read. Tasks start in the
   * order they were sent, at most `concurrency` at once, and a task that waited for a place
   * is announced (with the end of the task before it) before its code runs: so a task behind
   * the first `concurrency` unfinished ones cannot have started. Of the first ones, those not
   * announced may have started (undefined). A process killed because its loop did not turn,
   * running one task at a time, was held by its first unfinished task.
   */
  private atExit(): Array<TaskAtExit<R>> {
    const { concurrency } = this.options;
    return this.ledger.atExit((_id, _started, position) => ({
      started: position < concurrency ? undefined : false,
      blocking: this.killed && concurrency === 1 ? position === 0 : undefined,
    }));
  }

  private loadFailed(reason: string, error: Error | undefined, exitCode: number, workerDataUnsendable = false): void {
    const exit: WorkerExit<R> = { kind: 'load', reason, exitCode, error, tasks: this.ledger.atExit(), workerDataUnsendable };
    this.readiness.fail(exit);
    this.listener.exited(exit);
  }
}

/** Transfer lists, of which a process takes none: what would be moved is copied. */
const noTransfers: BatchTransfers = new Map();

/**
 * This process's Node flags that a worker process should share (a loader such as tsx's, a
 * `--conditions`), without those that would make it run something else (`-e`, `-p`) or
 * collide with this process (`--inspect` on the same port).
 */
export function inheritedFlags(execArgv: readonly string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i]!;
    if (/^(-e|-p|--eval|--print)$/.test(flag)) i++;
    else if (!/^--(inspect|debug)/.test(flag) && !/^(-e|-p|--eval|--print)=/.test(flag)) flags.push(flag);
  }
  return flags;
}

/** `resourceLimits` as the child's V8 flags; a young generation is about three semi-spaces. */
function heapFlags(limits: ResourceLimits | undefined): string[] {
  const flags: string[] = [];
  if (limits?.maxOldGenerationSizeMb) flags.push(`--max-old-space-size=${Math.ceil(limits.maxOldGenerationSizeMb)}`);
  if (limits?.maxYoungGenerationSizeMb) flags.push(`--max-semi-space-size=${Math.max(1, Math.ceil(limits.maxYoungGenerationSizeMb / 3))}`);
  return flags;
}

/** Why a task cannot be sent, with what to do when it is shared memory. */
function unsendable(error: unknown): string {
  const message = messageOf(error);
  if (!/SharedArrayBuffer/.test(message)) return message;
  return `a SharedArrayBuffer cannot be sent to a worker process (workerType 'process' shares no memory): send an ArrayBuffer, which is copied, or use workerType 'thread' (${message})`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}


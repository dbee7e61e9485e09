import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';
import { KilledBySignal } from '../errors';
import { HostOp, isHostMessage, type HostSetup } from '../host/protocol';
import type { LoadFailure } from '../worker/load';
import { Batcher, type BatchTransfers } from './batcher';
import { Outbox } from './outbox';
import { spawnInGroup } from './processGroup';
import { Op, reviveError, streamPace, type SerializedError } from './protocol';
import type {
  Introspectable,
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

/** The worker host each process runs (the package's `looppool-worker` bin). */
const hostPath = join(__dirname, '..', 'host', 'main.js');

/** How long (ms) to wait for a worker's figures before reporting without them. */
const sampleTimeout = 1_000;

/** How much of a worker's stderr is kept, to tell why it died (V8 prints "heap out of memory" there). */
const stderrKept = 4_096;

/** What the processes transport needs to start a worker. */
export interface ProcessesTransportOptions {
  readonly workerData: unknown;
  /** Tasks a worker runs at once. */
  readonly concurrency: number;
  /** Heap limits: they become the child's `--max-old-space-size` and `--max-semi-space-size`. */
  readonly resourceLimits?: ResourceLimits | undefined;
  /** How long (ms) a stopping worker may run its abort handlers before it is killed. */
  readonly gracePeriod: number;
  /** Values a streaming task may yield ahead of its consumer; unbounded without it. */
  readonly streamWindow?: number | undefined;
  /** Values of an Observable task that may wait in the worker for credit; unbounded without it. */
  readonly streamBuffer?: number | undefined;
  /** The pool's name: worker `i`'s process title is `<name>#<i>`. */
  readonly name: string;
}

/** Runs each worker in a child process of its own, the `looppool-worker` host, over Node's IPC channel. */
export function processesTransport<T, R>(modulePath: string, options: ProcessesTransportOptions): Transport<T, R> {
  return (index, listener) => new ProcessPort<T, R>(modulePath, index, options, listener);
}

/** A task sent to the worker and not ended. */
interface Sent<R> {
  readonly observer: RunObserver<R>;
  /** The worker said it started (or sent a result). */
  started: boolean;
}

/**
 * One worker process. It is forked with an IPC channel and `serialization: 'advanced'`, so
 * tasks and results cross as structured clones, in the same batches of triples as a thread's.
 * Nothing is shared: what the process was doing when it died is inferred from the order of
 * its messages (tasks start in the order they were sent, and a task that waited announces its
 * start after the end of the one before it), and whether its loop turns is asked by a ping.
 */
class ProcessPort<T, R> implements WorkerPort<T, R>, Probeable, Introspectable, Paced {
  readonly ready: Promise<void>;
  /** A process takes about 100 ms to start: until it is ready, the other workers take its tasks. */
  readonly takesTasksWhenReady = true;
  /** Resolves when the process has exited and its channel and stderr have closed. */
  private readonly exit: Promise<void> = Promise.resolve();
  /** Tasks sent and not yet ended, by id (the ticket), in the order they were sent. */
  private readonly running = new Map<number, Sent<R>>();
  /** Id of the last task sent; ids start at 1. */
  private lastId = 0;
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
  /** Pings and figure requests sent and not yet answered, by id. */
  private readonly pending = new Map<number, (payload: unknown) => void>();
  private lastRequest = 0;
  private settleReady: { resolve(): void; reject(error: unknown): void } | undefined;

  constructor(
    modulePath: string,
    readonly index: number,
    private readonly options: ProcessesTransportOptions,
    private readonly listener: PortListener<R>,
  ) {
    this.ready = new Promise<void>((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.ready.catch(noop); // the failure is reported through the listener
    this.batcher = new Batcher({ postMessage: (message) => this.child?.connected && this.child.send(message) });
    const setup: HostSetup = {
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
      this.loadFailed(`workerData cannot be cloned: ${messageOf(error)}`, undefined, 1, true);
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
    child.send([HostOp.setup, 0, setup]);
  }

  run(task: T, observer: RunObserver<R>): number {
    const id = ++this.lastId;
    this.running.set(id, { observer, started: false });
    if (this.state !== 'stopped') this.send(Op.run, id, task);
    return id;
  }

  cancel(ticket: number): void {
    if (this.running.delete(ticket) && this.state !== 'stopped') this.send(Op.cancel, ticket, 0);
  }

  grant(ticket: number, n: number): void {
    if (this.running.has(ticket) && this.state !== 'stopped') this.send(Op.credit, ticket, n);
  }

  probe(answered: () => void): void {
    this.request((id) => this.send(Op.ping, id, 0), answered);
  }

  async sample(): Promise<WorkerSample> {
    if (this.state !== 'ready') return { elu: undefined, figures: undefined };
    // The process measures its own loop: a blocked one answers neither, and is reported without figures.
    const [elu, figures] = await Promise.all([
      this.ask((id) => this.child?.connected && this.child.send([HostOp.sample, id, 0])),
      this.ask((id) => this.send(Op.stats, id, 0)),
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
    if (this.state === 'stopped') return this.exit;
    const graceful = this.state === 'ready';
    this.running.clear();
    this.settleReady = undefined;
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

  /** Sends a request through `post` (given its id) and calls `answered` with the answer. */
  private request(post: (id: number) => void, answered: (payload: unknown) => void): number {
    const id = ++this.lastRequest;
    this.pending.set(id, answered);
    post(id);
    return id;
  }

  /** A request whose answer is given up after {@link sampleTimeout}: then undefined. */
  private ask(post: (id: number) => void): Promise<unknown> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, sampleTimeout);
      const id = this.request(post, (payload) => {
        clearTimeout(timer);
        resolve(payload);
      });
    });
  }

  private answer(id: number, payload: unknown): void {
    this.pending.get(id)?.(payload);
    this.pending.delete(id);
  }

  private receive(batch: unknown[]): void {
    if (isHostMessage(batch)) return this.fromHost(batch[0] as number, batch[1] as number, batch[2]);
    for (let i = 0; i < batch.length && this.state !== 'stopped'; i += 3) {
      const op = batch[i] as Op;
      const id = batch[i + 1] as number;
      const payload = batch[i + 2];
      if (op === Op.next || op === Op.last || op === Op.started) {
        const sent = this.running.get(id);
        if (!sent) continue;
        if (op === Op.started) {
          if (!sent.started) sent.observer.started();
        } else sent.observer.next(payload as R);
        sent.started = true;
        if (op === Op.last) this.end(id, Op.complete, undefined);
      } else if (op === Op.emit) this.listener.emitted(payload as R);
      else if (op === Op.emitUnserializable) this.listener.unsendable(payload as string);
      else if (op === Op.fatal) {
        this.lastError = reviveError(payload as SerializedError);
        this.fatal = true;
      } else if (op === Op.pong || op === Op.stats) this.answer(id, payload);
      else this.end(id, op, payload);
    }
  }

  private fromHost(op: number, id: number, payload: unknown): void {
    if (op === HostOp.sample) return this.answer(id, payload);
    if (this.state !== 'starting') return;
    if (op === HostOp.ready) {
      this.state = 'ready';
      this.settleReady?.resolve();
      this.settleReady = undefined;
    } else if (op === HostOp.failed) {
      this.failure = payload as LoadFailure;
    }
  }

  /** The task's last message: it completed or failed. */
  private end(id: number, op: Op, payload: unknown): void {
    const sent = this.running.get(id);
    if (!sent) return;
    this.running.delete(id);
    if (op === Op.complete) sent.observer.complete();
    else if (op === Op.error) sent.observer.error({ kind: 'threw', error: reviveError(payload as SerializedError) });
    else sent.observer.error({ kind: 'unserializable', subject: 'result', reason: payload as string });
  }

  private send(op: Op, id: number, payload: unknown): void {
    this.outbox.add(op, id, payload);
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
        const sent = this.running.get(id);
        this.running.delete(id);
        sent?.observer.error({ kind: 'unserializable', subject: 'task', reason: unsendable(error) });
      }
    }
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.state === 'stopped') return;
    const wasReady = this.state === 'ready';
    this.state = 'stopped';
    this.outbox.clear();
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
    this.listener.exited({ kind: 'crashed', reason: crash, crash, exitCode, error, tasks: this.atExit() });
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
    const tasks: Array<TaskAtExit<R>> = [];
    let position = 0;
    for (const sent of this.running.values()) {
      const mayHaveStarted = position < concurrency;
      tasks.push({
        observer: sent.observer,
        started: sent.started || (mayHaveStarted ? undefined : false),
        blocking: this.killed && concurrency === 1 ? position === 0 : undefined,
        transferred: false,
      });
      position++;
    }
    this.running.clear();
    return tasks;
  }

  private loadFailed(reason: string, error: Error | undefined, exitCode: number, workerDataUnsendable = false): void {
    const tasks = [...this.running.values()].map(({ observer }) => ({ observer, started: false, blocking: false, transferred: false }));
    this.running.clear();
    const exit: WorkerExit<R> = { kind: 'load', reason, crash: 'exited', exitCode, error, tasks, workerDataUnsendable };
    this.settleReady?.reject(exit);
    this.settleReady = undefined;
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

function noop(): void {}

import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';
import { KilledBySignal } from '../errors';
import { BatchPort, messageOf, sampleTimeout } from './batchPort';
import { missingOwnFile } from './ownFiles';
import { spawnInGroup } from './processGroup';
import { isProcessMessage, ProcessOp, type ProcessSetup } from './processProtocol';
import type { WorkerStartOptions } from './startOptions';
import { reviveError, streamPace, type LoadFailure } from './protocol';
import type { Introspectable, PortListener, PortFactory, WorkerSample } from './transport';

/** The worker host each process runs (the package's `looppool-worker` bin). */
const hostPath = join(__dirname, '..', 'host', 'main.js');

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
class ProcessPort<T, R> extends BatchPort<T, R> implements Introspectable {
  /** A process takes about 100 ms to start: until it is ready, the other workers take its tasks. */
  readonly takesTasksWhenReady = true;
  /** A batch crosses a pipe and is parsed at both ends: slower than a thread's. */
  readonly handAheadMs = 8;
  private readonly child: ChildProcess | undefined;
  /** What the host said when the worker could not start. */
  private failure: LoadFailure | undefined;
  /** What went wrong with the process or its channel (it could not be spawned, a write failed): reported only if nothing better is known. */
  private channelError: Error | undefined;
  /** The end of the worker's stderr, at most {@link stderrKept} characters. */
  private stderrTail = '';

  constructor(
    modulePath: string,
    index: number,
    private readonly options: ProcessesTransportOptions,
    listener: PortListener<R>,
  ) {
    super(index, listener, options.gracePeriod);
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
      this.failAtStart(`workerData cannot be cloned: ${messageOf(error)}`, true);
      return;
    }
    const missing = missingOwnFile(hostPath);
    if (missing) {
      this.failAtStart(missing);
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
    child.on('message', (message: unknown[]) =>
      isProcessMessage(message) ? this.fromHost(message[0] as number, message[1] as number, message[2]) : this.receive(message),
    );
    // 'close' comes once the process has exited and its IPC channel and stderr have closed:
    // every message it sent has been read. `exit` resolves then.
    this.exit = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        this.exited(code, signal);
        resolve();
      }),
    );
    child.send([ProcessOp.setup, 0, setup]);
  }

  async sample(): Promise<WorkerSample> {
    if (this.state !== 'ready') return { elu: undefined, figures: undefined };
    // The process measures its own loop: a blocked one answers neither, and is reported without figures.
    const [elu, figures] = await Promise.all([
      this.requests.ask(ProcessOp.sample, (id) => this.send([ProcessOp.sample, id, 0]), sampleTimeout),
      this.figures(),
    ]);
    return { elu: elu as number | undefined, figures };
  }

  protected send(message: unknown[]): void {
    if (this.child?.connected) this.child.send(message);
  }

  protected halt(): void {
    this.child?.kill('SIGKILL');
  }

  /** Why a task cannot be sent, with what to do when it is shared memory. */
  protected override unsendable(error: unknown): string {
    const message = messageOf(error);
    if (!/SharedArrayBuffer/.test(message)) return message;
    return `a SharedArrayBuffer cannot be sent to a worker process (workerType 'process' shares no memory): send an ArrayBuffer, which is copied, or use workerType 'thread' (${message})`;
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

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.state === 'stopped') return;
    const wasReady = this.state === 'ready';
    this.stopped();
    const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
    const error = this.lastError ?? (signal ? new KilledBySignal(signal) : this.channelError);
    if (!wasReady) {
      const failure = this.failure;
      if (failure) return this.loadFailed(failure.reason, failure.error && reviveError(failure.error), exitCode);
      const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
      return this.loadFailed(`the worker process ${how} while loading`, error, exitCode);
    }
    // What is known of each unfinished task, with no shared memory to read. Tasks start in the
    // order they were sent, at most `concurrency` at once, and a task that waited for a place
    // is announced (with the end of the task before it) before its code runs: so a task behind
    // the first `concurrency` unfinished ones cannot have started. Of the first ones, those not
    // announced may have started (undefined). A process killed because its loop did not turn,
    // running one task at a time, was held by its first unfinished task.
    const { concurrency } = this.options;
    this.crashed(this.killed && signal === 'SIGKILL', /heap out of memory/i.test(this.stderrTail), exitCode, error, (_id, position) => ({
      started: position < concurrency ? undefined : false,
      blocking: this.killed && concurrency === 1 ? position === 0 : undefined,
    }));
  }
}

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


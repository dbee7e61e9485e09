import { asyncScheduler, type Subscription } from 'rxjs';
import { LoopPoolError, SerializationError, TaskTimeoutError, WorkerCrashError, WorkerLoadError } from '../errors';
import { noop } from '../noop';
import {
  canPace,
  canProbe,
  type PortListener,
  type RunObserver,
  type TaskAtExit,
  type TaskFailure,
  type PortFactory,
  type WorkerCrash,
  type WorkerExit,
  type WorkerPort,
} from '../transport/transport';
import { grantBatch, type Receipt } from './credit';
import { Capacity } from './capacity';
import { taskError } from './failures';
import type { AttemptTrace } from '../otel/tracing';
import type { HandedTask, RunOwner, Task, TaskTaker } from './types';
import { onWorkerExit, type Verdict } from './verdict';

/** One task in this many is timed: timing every tiny task would cost more than the figures are worth. */
export const measureEvery = 8;

/** The limits a slot applies to its worker. */
export interface SlotOptions {
  readonly concurrency: number;
  /** Tasks at hand beyond `concurrency`: exactly, or the least when {@link adaptQueue} is set. */
  readonly queueSize: number;
  /** `queueSize` was left to its default: a port that says how far ahead to feed it ({@link WorkerPort.handAheadMs}) gets more. */
  readonly adaptQueue?: boolean;
  readonly retries: number;
  /** Replacements allowed in any minute (for the message when they run out). */
  readonly maxRestarts: number;
  /** Milliseconds a task may run, if limited. */
  readonly taskTimeout: number | undefined;
  /** Milliseconds a worker gets to answer a probe before it is killed. */
  readonly gracePeriod: number;
  /** Values a streaming task may yield ahead of its consumer; unbounded without it. */
  readonly streamWindow?: number;
  /** Values of an Observable task that may wait in its worker, for the error when it overflows. */
  readonly streamBuffer?: number;
}

/** What a slot needs from the engine that holds it. */
export interface SlotHost<T, R> {
  readonly options: SlotOptions;
  readonly transport: PortFactory<T, R>;
  /** The worker module, as errors name it. */
  readonly workerModule: string;
  /** `<pool name>#<index>`. */
  workerName(index: number): string;
  /** A value a worker sent with `ctx.emit`. */
  emitted(value: R, index: number): void;
  /** Every task error once final, and every crash, for `errors$` and `onError`. */
  report(error: LoopPoolError): void;
  /** Something a worker could not send; dropped, nothing fails. */
  warn(error: LoopPoolError): void;
  /** Takes one restart from the budget; false once workers have crashed more than `maxRestarts` a minute. */
  mayRestart(): boolean;
  /** A replacement worker took over slot `index`: queue what it must run first. */
  replaced(index: number): void;
  /** An elastic pool, whose slots may stay empty: a worker its host gave back is not replaced. */
  readonly elastic: boolean;
  /** The worker of slot `index` was given back by its host; none runs there now. */
  vacated(index: number): void;
  /** Something the pool cannot mend: a worker module that does not load, or too many crashes. */
  fatal(error: LoopPoolError): void;
  /** A task ended; `ms` is how long it ran, for one task in {@link measureEvery}. */
  measured?(ms: number | undefined): void;
  /** The slot may take more tasks. */
  pump(): void;
}

/**
 * One worker as the engine sees it: the state machine of its tasks. The slot owns the tasks
 * handed to its worker, its port and the port's generation, the worker's clocks and its
 * probe; everything else reaches the worker through the slot. The slot outlives its port:
 * when the worker dies, a replacement takes the same slot (and index) with a new port.
 *
 * What the worker has started, the worker says (through its port); the slot never guesses it.
 * A task's `taskTimeout` clock starts when the worker says it started. A port that may start a
 * task without saying so at once (a thread, whose reports travel in batches) is watched too:
 * a worker that reports nothing for `taskTimeout` while it holds tasks is probed.
 *
 * An outage is not a timeout: while the port says its worker is out of reach (a cluster's
 * connection down, its host unheard), no clock of the slot runs, counted from the worker's last
 * word; back in reach, each task has the time it had left, and a probe sent meanwhile is
 * dropped (one sent before gets a whole `gracePeriod` again). A worker that never comes back
 * ends with its host, which charges its tasks as a host loss, never as a timeout.
 *
 * ```
 * handOver ──▶ handed ──started──▶ running ──complete/error──▶ ended (owner told)
 *                 │                   │
 *                 └─────── worker exits ──▶ verdict: retry (free or charged) or reject
 * ```
 */
export class WorkerSlot<T, R> implements TaskTaker<T, R> {
  /** Ports started here so far: a port's events count only while it is the current one. */
  private generation = 0;
  /** Values taken told to the worker in one message; see `grantBatch`. */
  readonly grantEvery: number;
  /** The worker's port; undefined while no worker runs at this index (an elastic pool below `max`). */
  private current: WorkerPort<T, R> | undefined;
  /** How many tasks the current worker may hold; a new one for each port. */
  private capacity: Capacity;
  /** Set while the current port is a crash replacement: a module that does not load then counts as a crash. */
  private replacement = false;
  /**
   * Set while the current worker is one {@link start}ed to grow the pool: it is handed tasks
   * only once ready, so that none waits for its boot while a running worker frees a place.
   */
  private growing = false;
  /** The stop of a worker that was idle, until it has ended. */
  private retiring: Promise<void> | undefined;
  /** Since when (scheduler time) the worker has held no task, once ready; undefined while it holds one. */
  private idleFrom: number | undefined;
  /** Tasks handed to the worker and not ended, in hand-over order; at most `capacity.limit`. */
  private readonly runs = new Set<SlotRun<T, R>>();
  /** Set while a broadcast runs here: nothing else is handed over meanwhile. */
  private sequential = false;
  /**
   * Set while the worker has not answered a probe: nothing is handed over, no clock runs. `id`
   * tells its answer from that of a probe dropped before; `killed`: the worker was asked to end.
   */
  private probing:
    | {
        readonly id: number;
        readonly trigger: SlotRun<T, R> | undefined;
        readonly since: number;
        readonly grace: Subscription | undefined;
        readonly killed: boolean;
      }
    | undefined;
  /** Probes started so far, for their ids. */
  private probes = 0;
  /** While the worker is out of reach: since when (scheduler time) no clock runs; undefined while in reach. */
  private unreachedSince: number | undefined;
  /** When the worker last came back in reach (scheduler time): an outage is never counted from before it, so no time is given back twice. */
  private reachedAt = -Infinity;
  /** The one timer of this slot, at {@link clockAt}: the earliest deadline, or the silence watch. */
  private clock: Subscription | undefined;
  private clockAt = Infinity;
  /** When the worker last reported anything, or became ready (scheduler time); for the silence watch. */
  private lastHeard = 0;
  /** Set once the current worker has run `init`: a worker that is still loading is not watched for silence. */
  private isReady = false;
  /** Set once the current port has ended and no replacement has taken over. */
  private down = false;
  private stopped = false;
  /** Tasks that completed here, since the pool started. */
  private doneCount = 0;
  /** Tasks that failed for good here, since the pool started. */
  private failedCount = 0;
  /** Times a replacement took over. */
  private restartCount = 0;
  /** Tasks started here, to time one in {@link measureEvery}. */
  private timed = 0;

  constructor(
    readonly index: number,
    private readonly host: SlotHost<T, R>,
    /** Start a worker now; otherwise the slot waits for {@link start}. */
    startNow = true,
  ) {
    this.grantEvery = grantBatch(host.options.streamWindow);
    this.capacity = new Capacity(host.options.concurrency, host.options.queueSize, undefined);
    if (startNow) this.current = this.spawn();
  }

  /** The current worker's port; undefined while no worker runs here. */
  get port(): WorkerPort<T, R> | undefined {
    return this.current;
  }

  /** A worker runs here, or is starting. */
  get live(): boolean {
    return this.current !== undefined;
  }

  /** Since when the worker has held no task (scheduler time); undefined while it holds one, is starting, or is not running. */
  get idleSince(): number | undefined {
    return this.current && this.runs.size === 0 ? this.idleFrom : undefined;
  }

  /** The worker waits for a host to serve it (see {@link WorkerPort.unserved}). */
  get unserved(): boolean {
    return this.current?.unserved === true;
  }

  /** Starts a worker at this index, which has none (the pool grows). It is not a restart. */
  start(): void {
    if (this.current || this.stopped) return;
    this.generation++;
    this.replacement = false;
    this.down = false;
    this.growing = true;
    this.current = this.spawn();
  }

  /** Stops the worker gracefully because it had nothing to do; only when it holds no task. */
  retire(): void {
    const port = this.current;
    if (!port || this.runs.size > 0 || this.probing || this.stopped) return;
    this.generation++; // what the old port still reports is not heard
    this.current = undefined;
    this.idleFrom = undefined;
    this.clearClock();
    const previous = this.retiring;
    const retiring: Promise<void> = Promise.all([previous, port.terminate()]).then(() => {
      if (this.retiring === retiring) this.retiring = undefined;
    });
    this.retiring = retiring;
  }

  /** Whether the worker can take one more task now. */
  get hasRoom(): boolean {
    return (
      this.current !== undefined &&
      this.capacity.hasRoom(this.runs.size) &&
      !this.sequential &&
      !this.probing &&
      !this.down &&
      (this.isReady || !this.waitsForReady(this.current))
    );
  }

  /**
   * Whether `port` is handed tasks only once ready: when it asks for that (a process, a remote
   * worker), and when it was started to grow the pool, unless it starts at once (an inline
   * worker). A thread started with the pool, or to replace a crashed one, takes tasks while it
   * boots, so that they are there when it is ready; one started to grow the pool would hold
   * them back while a running worker will have room in a moment.
   */
  private waitsForReady(port: WorkerPort<T, R>): boolean {
    return port.takesTasksWhenReady === true || (this.growing && port.startsAtOnce !== true);
  }

  /** Tasks handed over and not ended. */
  get assigned(): number {
    return this.runs.size;
  }

  /** Counts for `stats()`: tasks holding running places and waiting behind them, done, failed, restarts. */
  get counts(): {
    readonly inFlight: number;
    readonly queued: number;
    readonly done: number;
    readonly failed: number;
    readonly restarts: number;
    readonly live: boolean;
  } {
    const { concurrency } = this.host.options;
    return {
      live: this.isReady && !this.down,
      inFlight: Math.min(this.runs.size, concurrency),
      queued: Math.max(0, this.runs.size - concurrency),
      done: this.doneCount,
      failed: this.failedCount,
      restarts: this.restartCount,
    };
  }

  /** Hands `task` to the worker; its ends go to `owner`, possibly before this returns. */
  handOver(owner: RunOwner<T, R>, task: Task<T>): HandedTask {
    const run = new SlotRun(this, owner, task);
    run.bytes = this.capacity.taken(task.input);
    this.runs.add(run);
    this.idleFrom = undefined;
    if (task.sequential) this.sequential = true;
    run.attempt = task.trace?.attempt(this.host.workerName(this.index));
    run.ticket = this.current!.run(task.input, run, task.transfer, run.attempt?.traceparent);
    if (this.host.options.taskTimeout !== undefined && !run.ended && !run.hasStarted) this.armClock();
    return run;
  }

  /** The task the worker's loop is blocked by, for blocked-loop warnings. */
  taskOf(observer: RunObserver<R> | undefined): Task<T> | undefined {
    return observer instanceof SlotRun && this.runs.has(observer) ? (observer as SlotRun<T, R>).task : undefined;
  }

  /** Stops the worker; its tasks are dropped (their jobs close them). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearClock();
    this.probing?.grace?.unsubscribe();
    this.probing = undefined;
    for (const run of this.runs) endTrace(run, 'cancelled');
    this.runs.clear();
    await Promise.all([this.current?.terminate(), this.retiring]);
  }

  /** @internal The worker said `run` started. */
  started(run: SlotRun<T, R>): void {
    run.hasStarted = true;
    const { taskTimeout } = this.host.options;
    if (this.host.measured && ++this.timed % measureEvery === 0) run.startedAt = performance.now();
    if (taskTimeout === undefined) return;
    const now = this.clockTime();
    this.lastHeard = now;
    run.deadline = now + taskTimeout;
    if (run.deadline < this.clockAt) this.armClock();
  }

  /** @internal A result of `run`. */
  next(run: SlotRun<T, R>, value: R): void {
    if (!run.hasStarted) this.started(run);
    run.yielded = true;
    run.owner.result(run.task, value, this.index, run);
  }

  /** @internal `n` more values of `run` were taken by its consumer. */
  grant(run: SlotRun<T, R>, n: number): void {
    if (!this.stopped && this.current) canPace(this.current)?.grant(run.ticket, n);
  }

  /** @internal `run` completed. */
  completed(run: SlotRun<T, R>): void {
    if (!this.finish(run)) return;
    this.doneCount++;
    endTrace(run, 'done', undefined, this.host.workerName(this.index));
    this.host.measured?.(run.startedAt > 0 ? performance.now() - run.startedAt : undefined);
    run.owner.completed(run.task);
  }

  /** @internal `run` failed on a worker that goes on. */
  failed(run: SlotRun<T, R>, failure: TaskFailure): void {
    if (!this.finish(run)) return;
    this.reject(run, taskError(failure, run.task.index, this.index, run.task.input, this.host.options.streamBuffer));
  }

  /** @internal The job no longer wants `run`. */
  withdraw(run: SlotRun<T, R>): void {
    if (!this.finish(run)) return;
    endTrace(run, 'cancelled');
    if (!this.stopped) this.current?.cancel(run.ticket);
  }

  /** Ends `run` here; false if it had ended. */
  private finish(run: SlotRun<T, R>): boolean {
    if (run.ended) return false;
    run.ended = true;
    this.runs.delete(run);
    this.capacity.taskEnded(run.bytes);
    if (run.task.sequential) this.sequential = false;
    if (this.runs.size === 0) this.idleFrom = asyncScheduler.now();
    if (this.host.options.taskTimeout !== undefined) {
      this.lastHeard = this.clockTime();
      if (this.runs.size === 0) this.clearClock();
    }
    return true;
  }

  /** `run` failed for good with `error`: count, report, tell its owner. */
  private reject(run: SlotRun<T, R>, error: LoopPoolError): void {
    this.failedCount++;
    error.workerName = this.host.workerName(this.index);
    endTrace(run, 'failed', error, error.workerName);
    this.host.report(error);
    this.host.measured?.(run.startedAt > 0 ? performance.now() - run.startedAt : undefined);
    run.owner.failed(run.task, error, this.index);
  }

  /** Starts a worker in this slot; its events count only while it is the current one. */
  private spawn(): WorkerPort<T, R> {
    const generation = this.generation;
    const live = (): boolean => !this.stopped && this.generation === generation;
    const listener: PortListener<R> = {
      emitted: (value) => live() && this.host.emitted(value, this.index),
      unsendable: (reason) => {
        if (!live()) return;
        const error = new SerializationError('emitted value', undefined, this.index, reason);
        error.workerName = this.host.workerName(this.index);
        this.host.warn(error);
      },
      exited: (exit) => live() && this.exited(exit),
      outOfReach: (silentMs) => live() && this.outOfReach(silentMs),
      backInReach: () => live() && this.backInReach(),
    };
    this.isReady = false;
    this.unreachedSince = undefined;
    this.reachedAt = -Infinity;
    const port = this.host.transport(this.index, listener);
    const { concurrency, queueSize, adaptQueue } = this.host.options;
    this.capacity = new Capacity(concurrency, queueSize, adaptQueue ? port.handAheadMs : undefined);
    port.ready.then(() => {
      if (!live()) return;
      this.isReady = true;
      this.lastHeard = asyncScheduler.now();
      if (this.runs.size === 0) this.idleFrom = this.lastHeard;
      this.armClock();
      // It may take what waited for it; with nothing to do, an elastic pool counts its idle time from now.
      if (this.waitsForReady(port) || this.runs.size === 0) this.host.pump();
    }, noop);
    return port;
  }

  // ---- clocks -------------------------------------------------------------------------------

  /** Sets the slot's one timer to the earliest deadline of a started task, or to the silence watch. */
  private armClock(): void {
    const { taskTimeout } = this.host.options;
    if (taskTimeout === undefined || this.probing || this.down || this.stopped || !this.current || this.unreachedSince !== undefined) return;
    let at = Infinity;
    let unseen = false;
    for (const run of this.runs) {
      if (run.hasStarted) at = Math.min(at, run.deadline);
      else unseen = true;
    }
    if (unseen && this.isReady && !this.current.startsAtOnce) at = Math.min(at, this.lastHeard + taskTimeout);
    if (at === this.clockAt) return;
    this.clearClock();
    if (at === Infinity) return;
    this.clockAt = at;
    this.clock = asyncScheduler.schedule(() => this.tick(), Math.max(0, at - asyncScheduler.now()));
  }

  private clearClock(): void {
    this.clock?.unsubscribe();
    this.clock = undefined;
    this.clockAt = Infinity;
  }

  /** The timer fired: probe the worker for the first task past its deadline, or for its silence. */
  private tick(): void {
    this.clock = undefined;
    this.clockAt = Infinity;
    if (this.probing || this.down || this.stopped || !this.current || this.unreachedSince !== undefined) return;
    const now = asyncScheduler.now();
    let unseen = false;
    for (const run of this.runs) {
      if (run.hasStarted && run.deadline <= now) return this.probe(run);
      if (!run.hasStarted) unseen = true;
    }
    if (unseen && this.isReady && !this.current.startsAtOnce && now - this.lastHeard >= this.host.options.taskTimeout!) return this.probe(undefined);
    this.armClock();
  }

  /**
   * Asks the worker whether its loop turns, because `trigger` ran past `taskTimeout` (or, with
   * no trigger, because the worker has said nothing for that long while holding tasks).
   * Meanwhile nothing is handed over and no clock runs. If it answers, `trigger` is cancelled
   * and fails with TaskTimeoutError, and the other clocks go on where they stopped. If it does
   * not answer within `gracePeriod`, it is killed, and {@link exited} decides each task's fate.
   */
  private probe(trigger: SlotRun<T, R> | undefined): void {
    const generation = this.generation;
    const id = ++this.probes;
    const port = canProbe(this.current!);
    if (!port) {
      // Nothing can tell whether this worker's loop turns: a timeout ends it.
      this.probing = { id, trigger, since: asyncScheduler.now(), grace: undefined, killed: true };
      this.current!.kill();
      return;
    }
    const since = asyncScheduler.now();
    this.probing = { id, trigger, since, grace: this.graceTimer(generation, since), killed: false };
    port.probe(() => this.answered(generation, id));
  }

  /**
   * Kills the worker when `gracePeriod` passes without an answer, unless it reported a task's
   * start or end meanwhile: its loop turns, it is only slow (a loaded machine), so it gets
   * another `gracePeriod`.
   */
  private graceTimer(generation: number, since: number): Subscription {
    return asyncScheduler.schedule(() => {
      if (this.generation !== generation || !this.probing || this.stopped) return;
      if (this.lastHeard > since) {
        const now = asyncScheduler.now();
        this.lastHeard = now;
        this.probing = { ...this.probing, grace: this.graceTimer(generation, now) };
        return;
      }
      this.probing = { ...this.probing, killed: true };
      this.current!.kill();
    }, this.host.options.gracePeriod);
  }

  private answered(generation: number, id: number): void {
    if (generation !== this.generation || this.probing?.id !== id || this.stopped) return;
    const { trigger, since, grace } = this.probing;
    grace?.unsubscribe();
    this.probing = undefined;
    const now = asyncScheduler.now();
    for (const run of this.runs) if (run.hasStarted && run !== trigger) run.deadline += now - since;
    this.lastHeard = now;
    if (trigger && this.finish(trigger)) {
      this.current!.cancel(trigger.ticket);
      this.reject(trigger, new TaskTimeoutError(trigger.task.index, this.index, trigger.task.input, this.host.options.taskTimeout!));
    }
    this.armClock();
    this.host.pump();
  }

  // ---- out of reach -------------------------------------------------------------------

  /** What the clocks read now: frozen while the worker is out of reach. */
  private clockTime(): number {
    return this.unreachedSince ?? asyncScheduler.now();
  }

  /**
   * The worker is out of reach, and has not been heard for `silentMs`: its clocks stop, counted
   * from its last word (never from before it last came back). A probe sent since then is
   * dropped: its silence is the outage's; one sent before waits, and its `gracePeriod` with it.
   */
  private outOfReach(silentMs: number): void {
    if (this.unreachedSince !== undefined) return;
    const since = Math.max(asyncScheduler.now() - Math.max(0, silentMs), this.reachedAt);
    this.unreachedSince = since;
    this.clearClock();
    const probing = this.probing;
    if (!probing || probing.killed) return; // asked to end: its exit settles its tasks
    probing.grace?.unsubscribe();
    this.probing = probing.since >= since ? undefined : { ...probing, grace: undefined };
  }

  /**
   * The worker is back in reach: every task's clock, and the silence watch, goes on with the
   * time it had left; a probe that waited gets a whole `gracePeriod` from now.
   */
  private backInReach(): void {
    const since = this.unreachedSince;
    if (since === undefined) return;
    const now = asyncScheduler.now();
    const away = now - since;
    this.unreachedSince = undefined;
    this.reachedAt = now;
    for (const run of this.runs) if (run.hasStarted) run.deadline += away;
    this.lastHeard += away;
    const probing = this.probing;
    if (probing && !probing.killed) {
      const probedSince = probing.since + away;
      this.probing = { ...probing, since: probedSince, grace: this.graceTimer(this.generation, probedSince) };
    }
    this.armClock();
    this.host.pump();
  }

  // ---- the worker ended -----------------------------------------------------------------

  /** The worker ended: settle each task it had (see {@link onWorkerExit}), then replace it if the budget allows. */
  private exited(exit: WorkerExit<R>): void {
    const trigger = this.probing?.trigger;
    this.probing?.grace?.unsubscribe();
    this.probing = undefined;
    this.clearClock();
    this.down = true;
    this.sequential = false;
    const facts = new Map<SlotRun<T, R>, TaskAtExit<R>>();
    for (const task of exit.tasks) facts.set(task.observer as SlotRun<T, R>, task);
    const runs = [...this.runs];
    this.runs.clear();
    for (const run of runs) {
      run.ended = true;
      run.attempt?.end('crashed', exit.error ?? `the worker ended (${exit.kind === 'crashed' ? exit.crash : exit.reason}, exit code ${exit.exitCode})`);
    }

    if (exit.kind === 'load' && !this.replacement) {
      // The module does not load: no replacement would. The engine closes what the worker had.
      this.host.fatal(this.loadError(exit));
      return;
    }

    const exitFacts = {
      unresponsive: exit.kind === 'crashed' && exit.crash === 'unresponsive',
      culpritKnown: exit.tasks.some((task) => task.blocking === true),
      retries: this.host.options.retries,
    };
    const verdicts = runs.map((run): Verdict => {
      const known = facts.get(run);
      return onWorkerExit(
        {
          started: run.hasStarted || known?.started,
          blocking: known?.blocking,
          yielded: run.yielded,
          transferred: known?.transferred ?? false,
          trigger: run === trigger,
          attempts: run.task.attempts,
        },
        exitFacts,
      );
    });
    runs.forEach((run, at) => {
      const verdict = verdicts[at]!;
      if (verdict.action === 'reject') this.reject(run, this.exitError(verdict.why, run, exit));
    });
    // Newest first, so that tasks put back first in line keep their order.
    for (let at = runs.length - 1; at >= 0; at--) {
      const verdict = verdicts[at]!;
      if (verdict.action !== 'retry') continue;
      if (verdict.charged) runs[at]!.task.attempts++;
      runs[at]!.owner.retry(runs[at]!.task);
    }

    if (this.stopped) return; // what the owners were told ended the pool
    if (exit.kind === 'crashed' && exit.handedBack && this.host.elastic) return this.vacate();

    const restart = this.host.mayRestart();
    const cause =
      exit.kind === 'load'
        ? new WorkerLoadError(this.index, this.host.workerModule, exit.reason, exit.error)
        : this.crashReport(exit, restart, runs.filter((_, at) => verdicts[at]!.action === 'retry'), runs.filter((_, at) => verdicts[at]!.action === 'reject'));
    cause.workerName = this.host.workerName(this.index);
    this.host.report(cause);
    if (!restart) {
      this.host.fatal(
        new WorkerCrashError(
          this.index,
          exit.exitCode,
          undefined,
          exit.kind === 'crashed' ? exit.crash : 'exited',
          cause,
          `Workers crashed more than ${this.host.options.maxRestarts} times within a minute (maxRestarts); ` +
            `worker ${this.index} was not restarted. Last: ${cause.message}`,
        ),
      );
      return;
    }
    this.restartCount++;
    this.generation++;
    this.replacement = true;
    this.growing = false;
    this.current = this.spawn();
    this.down = false;
    this.host.replaced(this.index);
    this.armClock();
    this.host.pump();
  }

  /** The host gave the worker back: no worker runs here now, and none replaces it unless the pool grows again. Not a crash. */
  private vacate(): void {
    this.generation++;
    this.current = undefined;
    this.down = false;
    this.idleFrom = undefined;
    this.host.vacated(this.index);
    this.host.pump();
  }

  /** Resolves when the worker started with the slot has run `init` (call it only on a slot that started one); rejects with the error that says why it cannot. */
  get ready(): Promise<void> {
    return this.current!.ready.catch((reason: WorkerExit<R> | LoopPoolError) => {
      throw reason instanceof LoopPoolError ? reason : this.loadError(reason); // a PoolClosedError: the worker was stopped first
    });
  }

  /**
   * The crash as the pool reports it: what ended the worker, whether it was replaced, and which
   * of its tasks run again (on the replacement or another worker) and which failed.
   */
  private crashReport(exit: WorkerCrash<R>, replaced: boolean, again: Array<SlotRun<T, R>>, failed: Array<SlotRun<T, R>>): WorkerCrashError {
    const base = new WorkerCrashError(this.index, exit.exitCode, undefined, exit.crash, exit.error);
    if (!replaced) return base;
    const inputs = (runs: Array<SlotRun<T, R>>): string =>
      runs.slice(0, 10).map((run) => run.task.index).join(', ') + (runs.length > 10 ? ` and ${runs.length - 10} more` : '');
    const what = [
      again.length > 0 ? `${again.length === 1 ? 'input' : 'inputs'} ${inputs(again)} ${again.length === 1 ? 'runs' : 'run'} again` : 'no task of it runs again',
      ...(failed.length > 0 ? [`${failed.length === 1 ? 'input' : 'inputs'} ${inputs(failed)} failed (each with its own error)`] : []),
    ];
    return new WorkerCrashError(this.index, exit.exitCode, undefined, exit.crash, exit.error, `${base.message}; it was replaced by a new worker, and ${what.join('; ')}`);
  }

  /** Why a worker never became ready, as the public error (a worker on another host may also be lost while it starts). */
  private loadError(exit: WorkerExit<R>): LoopPoolError {
    const reason = exit.kind === 'load' ? exit.reason : exit.crash;
    const error =
      exit.kind === 'load' && exit.workerDataUnsendable
        ? new SerializationError('workerData', undefined, this.index, reason)
        : new WorkerLoadError(this.index, this.host.workerModule, exit.error ? `${reason}: ${exit.error.name}: ${exit.error.message}` : reason, exit.error);
    error.workerName = this.host.workerName(this.index);
    return error;
  }

  /** The error a task ends with when its worker ended under it. */
  private exitError(why: Exclude<Verdict, { action: 'retry' }>['why'], run: SlotRun<T, R>, exit: WorkerExit<R>): LoopPoolError {
    const { index, input } = run.task;
    if (why === 'timeout') return new TaskTimeoutError(index, this.index, input, this.host.options.taskTimeout ?? 0);
    const crash = new WorkerCrashError(this.index, exit.exitCode, index, exit.kind === 'crashed' ? exit.crash : 'exited', exit.error);
    if (why === 'crashed') return crash;
    const because =
      why === 'yielded'
        ? 'after the task had yielded results; it is not run again, so that no result is delivered twice'
        : 'and its input had been transferred to that worker (`transfer` option); it is not run again, because nothing of the input is left to send';
    return new WorkerCrashError(this.index, exit.exitCode, index, crash.reason, exit.error, `${crash.message} ${because}`);
  }
}

/** One task handed to a slot's worker: the port reports to it, its job may cancel it. */
class SlotRun<T, R> implements RunObserver<R>, HandedTask, Receipt {
  /** The port's ticket, for `cancel`. */
  ticket = 0;
  /** The worker said it started (or sent a result, which says so). */
  hasStarted = false;
  /** It has yielded a result. */
  yielded = false;
  /** Ended: completed, failed, cancelled, or its worker ended. */
  ended = false;
  /** When it times out (scheduler time), once started; pushed back while its worker is probed. */
  deadline = Infinity;
  /** When it started (`performance.now()`), if it is one of those timed; else 0. */
  startedAt = 0;
  /** What its input weighs against the worker's byte bound (engine/capacity.ts). */
  bytes = 0;
  /** Values of it its consumer has taken and its worker has not been told of; below the slot's `grantEvery`. */
  private untold = 0;
  /** This attempt's span, when the pool traces. */
  attempt: AttemptTrace | undefined;

  constructor(
    private readonly slot: WorkerSlot<T, R>,
    readonly owner: RunOwner<T, R>,
    readonly task: Task<T>,
  ) {}

  started(): void {
    if (!this.hasStarted && !this.ended) this.slot.started(this);
  }
  next(value: R): void {
    if (!this.ended) this.slot.next(this, value);
  }
  complete(): void {
    this.slot.completed(this);
  }
  error(failure: TaskFailure): void {
    this.slot.failed(this, failure);
  }
  cancel(): void {
    this.slot.withdraw(this);
  }
  /** {@link Receipt}: the consumer has taken one of its values. */
  taken(): void {
    if (this.ended || ++this.untold < this.slot.grantEvery) return;
    const n = this.untold;
    this.untold = 0;
    this.slot.grant(this, n);
  }
}


/** Ends the spans of `run`'s attempt and of its task, when the pool traces. */
function endTrace<T, R>(run: SlotRun<T, R>, outcome: 'done' | 'failed' | 'cancelled', error?: unknown, worker?: string): void {
  run.attempt?.end(outcome, error);
  run.task.trace?.end(outcome, error, worker);
}

import type { Transferable } from 'node:worker_threads';
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Batcher, type BatchTransfers } from '../transport/batcher';
import type { Channel } from '../transport/channel';
import { activeSlot, activityId, Op, serializeError, startedSlot, streamOverflowCode, windowQuarter, type StreamPace } from '../transport/protocol';
import type { WorkerFigures } from '../transport/transport';
import type { WorkerContext, WorkerDefinition } from './definition';
import { trackContinuations } from './activity';
import { StreamCredit } from './credit';
import { ConcurrencyGate } from './gate';
import { runTask, type StopTask, type TaskSink } from './runTask';
import { inTrace, setSpanSink } from './trace';
import { noop } from '../noop';

/** Results wait at most this long (ms) for more to share their message. */
const maxBatchDelay = 1;

/** Values posted in one go at most: a stream that yields without pause is posted at this many. */
const maxOutbox = 1024;

/** Period (ms) of the timer that measures event-loop delay. */
const delayResolution = 10;

/**
 * The worker side of one thread: reads batches of tasks from the port, runs them with the
 * worker's definition, and sends results back in batches.
 */
export class WorkerRuntime<T, R, D> {
  /** Tasks received and not yet finished (running or waiting at the gate), by id; what a cancel message reaches. */
  private readonly running = new Map<number, TaskRun<T, R, D>>();
  /** Triples not yet posted; flushed at the end of the current turn, or sooner when old. */
  private outbox: unknown[] = [];
  /** What the outbox's results transfer, by the index of their triple (`transfer` of the definition). */
  private transfers = new Map<number, readonly Transferable[]>();
  /** When the oldest triple in the outbox was queued (performance.now()). */
  private outboxSince = 0;
  /** A flush is queued as a microtask. */
  private flushSoon = false;
  /** A flush is queued for the end of the turn (setImmediate). */
  private flushLater = false;
  /**
   * Set when the outbox was posted in this turn of the event loop, or a paced stream resumed in
   * it ({@link resumed}): a stream's later values in the same turn wait for the turn's end,
   * {@link maxBatchDelay} or the outbox limit, so that they share messages. Everything else (a
   * task's first value, its end, a start) goes at the end of the microtask, as the first post
   * of a turn does.
   */
  private postedThisTurn = false;
  /**
   * Triples the outbox holds before it is posted at once: {@link maxOutbox} values, or a
   * quarter of `streamWindow` if fewer (`windowQuarter`; at least 16). Not the whole window, as
   * it was: a stream that yields without pause then posted its window in one message and waited
   * for all of it to be read and granted back before it yielded again, so the worker and the
   * pool took turns (half the unpaced rate). In quarters, the pool reads and grants one while
   * the worker yields the next. A paced stream's values still go while it has credit: the
   * outbox is posted at the end of the turn, or after {@link maxBatchDelay}, whichever comes
   * first; and at once when the stream's credit runs out (`TaskRun.outOfCredit`), so that its
   * messages end where the pool's grants do.
   */
  private readonly outboxLimit: number;
  /** Aborted when the worker stops; `ctx.signal` of `init`. */
  private readonly lifetime = new AbortController();
  /** Runs at most `concurrency` tasks at once; the others wait here, in order. */
  readonly gate: ConcurrencyGate;
  private readonly batcher: Batcher;
  /** Tasks started as they arrived, since the last report of starts: those still running then are reported as started. */
  private unreported: Array<TaskRun<T, R, D>> = [];
  private startsScheduled = false;
  /**
   * With one task at a time, `activity[activeSlot]` names the running task from its start to
   * its end. With several, it names the task whose synchronous call of `process()` runs, and,
   * where `followContinuations` is set, the task whose continuation runs (see `trackContinuations`).
   */
  private readonly oneAtATime: boolean;

  constructor(
    /** A thread's MessagePort, or a worker process's channel to the pool. */
    private readonly port: Channel,
    readonly definition: WorkerDefinition<T, R, D>,
    readonly index: number,
    readonly workerData: D,
    concurrency: number,
    /** Follow each task into its continuations (see `WorkerSetup.followContinuations`). */
    followContinuations: boolean,
    /** Shared with the main thread: which task holds the loop, which started last; see `WorkerSetup.activity`. In a process, a plain array nobody else reads. */
    private readonly activity: Int32Array,
    /** Ends the thread; called after a stop message, once abort handlers have had their turn. */
    private readonly exit: () => void,
    /** How far each task's values may run ahead of its consumer (`streamWindow`, `streamBuffer`). */
    readonly pace: StreamPace,
  ) {
    this.gate = new ConcurrencyGate(concurrency);
    this.batcher = new Batcher(port);
    this.oneAtATime = concurrency === 1;
    this.outboxLimit = 3 * Math.min(maxOutbox, Math.max(16, windowQuarter(pace.window)));
    if (followContinuations && !this.oneAtATime) trackContinuations(activity);
    setSpanSink((records) => this.send(Op.spans, 0, records));
  }

  /** Runs `init`. */
  async start(): Promise<void> {
    await this.definition.init?.({
      index: this.index,
      workerData: this.workerData,
      emit: this.emit,
      signal: this.lifetime.signal,
    });
  }

  /** Starts taking tasks: call once the main thread has been told the worker is ready. */
  listen(): void {
    this.port.on('message', (batch: unknown[]) => this.receive(batch));
  }

  /** `ctx.emit`: a result tied to no task. */
  readonly emit = (value: R): void => this.send(Op.emit, 0, value);

  /** Posts what is waiting and reports `error` as the reason the worker is about to exit. */
  reportFatal(error: unknown): void {
    this.send(Op.fatal, 0, serializeError(error));
    this.flush();
  }

  private receive(batch: unknown[]): void {
    for (let i = 0; i < batch.length; i += 3) {
      const id = batch[i + 1] as number;
      if (batch[i] === Op.run || batch[i] === Op.runTraced) {
        if (batch[i] === Op.run) this.startTask(id, batch[i + 2] as T, undefined);
        else this.startTask(id, ...(batch[i + 2] as [T, string]));
        if (this.outbox.length > 0 && performance.now() - this.outboxSince > maxBatchDelay) this.flush();
      } else if (batch[i] === Op.credit) {
        this.running.get(id)?.grant(batch[i + 2] as number);
      } else if (batch[i] === Op.cancel) {
        this.running.get(id)?.cancel();
      } else if (batch[i] === Op.ping) {
        this.send(Op.pong, id, 0);
      } else if (batch[i] === Op.stats) {
        this.send(Op.stats, id, this.figures());
      } else if (batch[i] === Op.stop) {
        this.stop();
      } else {
        // A pool of another version, or a bug: end the worker with the reason, as a crash.
        throw new Error(`Worker received an unknown message: op ${String(batch[i])} (the pool and the worker may be of different looppool versions)`);
      }
    }
  }

  /** Event-loop delay, recorded from the first stats request on. */
  private delay: IntervalHistogram | undefined;

  /** This worker's loop delay since the last report, and its heap now. */
  private figures(): WorkerFigures {
    const delay = this.delay;
    this.delay ??= monitorEventLoopDelay({ resolution: delayResolution });
    this.delay.enable();
    // The histogram records the whole time between its timer's turns; the delay is what exceeds the period.
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - delayResolution) : 0);
    const loopDelay = delay
      ? { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) }
      : { p50: 0, p99: 0, max: 0 };
    delay?.reset();
    const heap = getHeapStatistics();
    return { loopDelay, heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size };
  }

  /**
   * Cancelled AsyncIterable tasks whose `finally` blocks still run (their iterator's `return()`
   * has not settled). A stopping worker waits for them; the pool terminates it after `gracePeriod`.
   */
  private readonly closing = new Set<Promise<void>>();

  /** Holds the worker's exit until a cancelled task's `finally` blocks have run (`closed` settles). */
  closingTask(closed: Promise<void> | void): void {
    if (!closed) return;
    this.closing.add(closed);
    void closed.then(() => this.closing.delete(closed));
  }

  /**
   * Aborts every running task and the worker's signal, then exits once their abort handlers have
   * had a turn and the cancelled generators' `finally` blocks have run: a `take(n)` that ends a
   * pool of the operator's own still lets a generator close its file. The pool terminates a
   * worker that takes longer than `gracePeriod`.
   */
  private stop(): void {
    // Newest first: waiting tasks are withdrawn before a running one frees its place for them.
    for (const run of [...this.running.values()].reverse()) run.cancel();
    this.lifetime.abort();
    this.delay?.disable();
    void Promise.all(this.closing).then(() => setImmediate(this.exit));
  }

  private startTask(id: number, task: T, traceparent: string | undefined): void {
    const run = new TaskRun(this, id);
    this.running.set(id, run);
    let entered = false;
    run.withdraw = this.gate.enter(() => this.begin(run, task, entered, traceparent));
    entered = true;
  }

  /**
   * Starts a task's code. A task that waited at the gate starts when an earlier one ends: the
   * outbox, which holds that end, is posted first (with this task's start), so that if this
   * task ends the thread without a word (out of memory, killed while stuck), what the earlier
   * one produced is not lost with it. Tasks started as they arrive are reported with the batch.
   */
  private begin(run: TaskRun<T, R, D>, task: T, waited: boolean, traceparent: string | undefined): void {
    run.started = true;
    const id = activityId(run.id);
    Atomics.store(this.activity, startedSlot, id);
    if (waited) {
      this.send(Op.started, run.id, 0);
      this.flush();
    } else {
      this.unreported.push(run);
      if (!this.startsScheduled) {
        this.startsScheduled = true;
        setImmediate(this.reportStarts);
      }
    }
    const outer = this.activity[activeSlot]!;
    this.activity[activeSlot] = id;
    const produce = () => this.definition.process(task, run);
    run.stop = runTask(traceparent ? () => inTrace(traceparent, produce) : produce, run);
    if (!this.oneAtATime) this.activity[activeSlot] = outer;
  }

  /** Called by a task run when it ends, whichever way. */
  finished(run: TaskRun<T, R, D>): void {
    this.running.delete(run.id);
    if (this.oneAtATime && this.activity[activeSlot] === activityId(run.id)) this.activity[activeSlot] = 0;
  }

  /** Queues a triple; `later` for a stream's values after its first, which may wait for the turn's end. */
  send(op: Op, id: number, payload: unknown, transfer?: readonly Transferable[], later = false): void {
    if (this.outbox.length === 0) this.outboxSince = performance.now();
    if (transfer?.length) this.transfers.set(this.outbox.length, transfer);
    const length = this.outbox.push(op, id, payload);
    // Only a stream's later values post at once past the bound: a task's first value waits for its
    // end (they go as one `last`), so a sibling that then blocks the loop cannot leave the value
    // delivered without its end (the soak saw that task settle twice, as a value and an error).
    if (later && (length >= this.outboxLimit || (length % 96 === 0 && performance.now() - this.outboxSince > maxBatchDelay))) this.flush();
    else this.scheduleFlush(later);
  }

  private scheduleFlush(later: boolean): void {
    if (this.flushSoon) return;
    if (later && this.postedThisTurn) {
      if (this.flushLater) return;
      this.flushLater = true;
      setImmediate(this.flush);
    } else {
      this.flushSoon = true;
      queueMicrotask(this.flush);
    }
  }

  private readonly newTurn = (): void => {
    this.postedThisTurn = false;
  };

  /**
   * A paced stream resumes after waiting for credit: what it sends in this turn is a burst, which
   * shares messages (posted at the outbox limit, when its credit runs out again, or at the turn's
   * end) as a stream's values after a turn's first post do. Without this, the first value after
   * each grant went alone at the end of its microtask, as a turn's first post does: a stream
   * that waits for every grant then cost two messages per quarter of its window (one value, then
   * the rest), two posts here and two reads in the pool, where an unpaced stream costs one.
   */
  resumed(): void {
    if (this.postedThisTurn) return;
    this.postedThisTurn = true;
    setImmediate(this.newTurn);
  }

  /**
   * Task `id` completed. When its last result is still the newest triple in the outbox (a task
   * that returned one value, the common case), that triple becomes `last`: one triple fewer to
   * clone and route per task.
   */
  complete(id: number): void {
    const at = this.outbox.length - 3;
    if (at >= 0 && this.outbox[at] === Op.next && this.outbox[at + 1] === id) {
      this.outbox[at] = Op.last;
      this.scheduleFlush(false);
    } else this.send(Op.complete, id, 0);
  }

  /**
   * Reports the starts of the tasks started as they arrived that are still running, once the
   * turn in which they started is over: a task that ends within it (most tiny tasks, sync or
   * async) says it started with its end, and costs no triple more.
   */
  private readonly reportStarts = (): void => {
    this.startsScheduled = false;
    for (const run of this.unreported) if (!run.ended) this.send(Op.started, run.id, 0);
    this.unreported = [];
  };

  /** Posts every triple waiting in the outbox now. */
  readonly flush = (): void => {
    this.flushSoon = false;
    this.flushLater = false;
    if (this.outbox.length === 0) return;
    if (!this.postedThisTurn) {
      this.postedThisTurn = true;
      setImmediate(this.newTurn);
    }
    const batch = this.outbox;
    const transfers = this.transfers;
    this.outbox = [];
    this.transfers = new Map();
    this.batcher.post(batch, transfers, (part, partTransfers) => this.postOneByOne(part, partTransfers));
  };

  /** A batch failed to clone: find the values that cannot cross and fail only their tasks. */
  private postOneByOne(batch: unknown[], transfers: BatchTransfers): void {
    const failed = new Set<number>();
    for (let i = 0; i < batch.length; i += 3) {
      const op = batch[i] as Op;
      const id = batch[i + 1] as number;
      if (failed.has(id)) continue;
      try {
        this.port.postMessage([op, id, batch[i + 2]], transfers.get(i) as Transferable[] | undefined);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (op === Op.emit) {
          this.port.postMessage([Op.emitUnserializable, 0, reason]);
        } else {
          failed.add(id);
          this.running.get(id)?.cancel();
          this.port.postMessage([Op.unserializable, id, reason]);
        }
      }
    }
  }
}

/** One running task: its context (`ctx`) and the sink its results flow into. */
class TaskRun<T, R, D> implements WorkerContext<D, R>, TaskSink<R> {
  /** Stops the task's output; set once the handler has returned. */
  stop: StopTask = noop;
  /** Takes the task out of the gate's queue, if it has not started. */
  withdraw: () => void = noop;
  /** Set when the gate lets the task start. */
  started = false;
  /** Set once the task has ended, whichever way. */
  ended = false;
  /** Created on first read of `signal`: most tasks never look at it. */
  private controller: AbortController | undefined;
  /** The task's credits, from its second value on: a task of one value never needs them. */
  private credit: StreamCredit<R> | undefined;
  /** Set once the task has sent a value. */
  private sentOne = false;
  /** How the task ended while values still waited for credit: sent once they have gone. */
  private heldEnd: { readonly error?: unknown } | undefined;

  constructor(
    private readonly runtime: WorkerRuntime<T, R, D>,
    readonly id: number,
  ) {}

  get index(): number {
    return this.runtime.index;
  }
  get workerData(): D {
    return this.runtime.workerData;
  }
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }
  emit(value: R): void {
    this.runtime.emit(value);
  }

  next(value: R): void {
    if (this.ended || this.heldEnd) return;
    const credit = this.paced();
    if (!credit) {
      this.post(value);
      this.sentOne = true;
    } else if (credit.available) {
      credit.spend();
      this.post(value);
      if (!credit.available) this.outOfCredit();
    } else if (!credit.hold(value)) {
      this.overflow();
    }
  }
  error(error: unknown): void {
    if (this.heldEnd || this.ended) return;
    if (this.credit && this.credit.waiting > 0) this.heldEnd = { error };
    else this.fail(error);
  }
  complete(): void {
    if (this.heldEnd || this.ended) return;
    if (this.credit && this.credit.waiting > 0) this.heldEnd = {};
    else this.finish();
  }

  /** The pull of an AsyncIterable: now, or once the consumer has taken enough values. */
  whenReady(pull: () => void): void {
    const credit = this.paced();
    if (credit) credit.whenAvailable(pull);
    else pull();
  }

  /** The consumer has taken `n` more values: send what waited, and the end if it came. */
  grant(n: number): void {
    if (this.ended) return;
    const credit = this.paced();
    if (!credit) return;
    if (!credit.available) this.runtime.resumed();
    if (!credit.grant(n, this.post)) {
      // An Observable's values still wait: those the grant let go were the last it allows.
      this.outOfCredit();
      return;
    }
    const end = this.heldEnd;
    if (!end) return;
    if ('error' in end) this.fail(end.error);
    else this.finish();
  }

  /**
   * The task has spent its credit: what waits in the outbox goes now. The pool grants more only
   * for values it has read, so values held here until the turn's end (or until the next grant
   * let the outbox reach its limit) delayed the very grant the stream waits for, and left the
   * pool a quarter of the window less to read meanwhile. Posted now, a stream's messages end
   * where its grants do: the pool reads a quarter and grants it back in one go.
   */
  private outOfCredit(): void {
    this.runtime.flush();
  }

  /** Sends a value: a stream's values after the first may wait for the end of the turn to share a message. */
  private readonly post = (value: R): void => {
    this.runtime.send(Op.next, this.id, value, this.runtime.definition.transfer?.(value), this.sentOne);
  };

  /** The task's credits once it has sent a value (one already spent); none when unpaced. */
  private paced(): StreamCredit<R> | undefined {
    if (this.credit || !this.sentOne || this.runtime.pace.window === Infinity) return this.credit;
    const { window, buffer } = this.runtime.pace;
    this.credit = new StreamCredit(window - 1, buffer);
    return this.credit;
  }

  /** An Observable emitted past its window and its buffer: it stops and the task fails. */
  private overflow(): void {
    const { window, buffer } = this.runtime.pace;
    this.credit?.clear();
    this.stop();
    this.controller?.abort();
    this.fail(streamOverflow(window, buffer));
  }

  private fail(error: unknown): void {
    if (!this.end()) return;
    this.runtime.send(Op.error, this.id, serializeError(error));
    this.release();
  }

  private finish(): void {
    if (!this.end()) return;
    this.runtime.complete(this.id);
    this.release();
  }

  /** The main thread no longer wants this task: abort its signal, then stop its output. */
  cancel(): void {
    if (!this.started) this.withdraw();
    if (!this.end()) return;
    this.credit?.clear();
    this.release();
    this.controller?.abort();
    this.runtime.closingTask(this.stop());
  }

  /** Marks the task ended; false if it already was. */
  private end(): boolean {
    if (this.ended) return false;
    this.ended = true;
    return true;
  }

  /**
   * Frees the task's place: the gate may start the next task at once, inside this call. So the
   * task's end is queued before, and the runtime posts it before that next task runs.
   */
  private release(): void {
    this.runtime.finished(this);
    if (this.started) this.runtime.gate.leave();
  }
}

/**
 * Why an Observable task failed: it emitted more values ahead of its consumer than the
 * worker holds. Its name and code make the pool report it as a `BufferOverflowError`.
 */
function streamOverflow(window: number, buffer: number): Error {
  const error = new Error(
    `The task's Observable emitted ${window + buffer + 1} values ahead of its consumer: streamWindow (${window}) may be in flight ` +
      `and streamBuffer (${buffer}) may wait in the worker. Return an AsyncIterable (an async generator), which is read only as fast ` +
      'as the consumer takes values, or raise streamBuffer.',
  );
  error.name = 'BufferOverflowError';
  Object.assign(error, { code: streamOverflowCode });
  return error;
}

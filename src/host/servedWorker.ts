import { Capacity } from '../engine/capacity';
import { Queue } from '../engine/queue';
import { ClusterError } from '../errors';
import { HostOp, PoolOp, setupRecord, type ExitRecord, type TaskRecord, type WorkerSetupRecord } from '../nats/wire';
import { noop } from '../noop';
import { threadsTransport, type ThreadPort } from '../transport/threads';
import { TicketWindow } from '../transport/ticketWindow';
import type { RunObserver, TaskFailure, WorkerExit } from '../transport/transport';

/**
 * Tasks a host hands its thread beyond those the thread runs at once: as many as the thread
 * ends in `ms` at the rate it last ended them, from `least` to 1,024 (the engine's
 * {@link Capacity}, as a pool feeds its workers). Tasks of a millisecond or more get `least`
 * (a draining host waits for at most that many more); tiny tasks get up to 1,024, so that host
 * and thread exchange a few large batches, not many small ones: each post and each NATS
 * message costs far more than a tiny task.
 */
const handedAhead = { least: 64, ms: 20 } as const;

/** How a worker ended whose host no longer serves it: `handedBack` when the host stopped gracefully and gave its tasks back. */
export function hostLost(error: ClusterError | undefined, tasks: TaskRecord[], handedBack = false): ExitRecord {
  return { kind: 'crashed', crash: 'host lost', exitCode: 0, error, tasks, ...(handedBack ? { handedBack } : {}) };
}

/** A task of the pool's: the observer its local thread reports to, which tells the pool. */
class HostedTask implements RunObserver<unknown> {
  constructor(
    private readonly worker: ServedWorker,
    readonly ticket: number,
  ) {}

  started(): void {
    this.worker.tell(HostOp.started, this.ticket);
  }

  next(value: unknown): void {
    this.worker.tell(HostOp.next, this.ticket, value);
  }

  complete(): void {
    this.worker.taskCompleted(this.ticket);
  }

  error(failure: TaskFailure): void {
    this.worker.taskFailed(this.ticket, failure);
  }
}

/** What a served worker needs from its host. */
export interface WorkerRelay {
  /** Sends one record, `[op, wid, a, b]`, to the worker's pool (batched per turn). */
  send(op: number, wid: number, a?: unknown, b?: unknown): void;
  /** If the newest record waiting for the worker's pool is `[op, wid, a, …]`, its op becomes `to`. */
  retag(op: number, wid: number, a: unknown, to: number): boolean;
  /** The thread ended (`exit`), or is ready (`undefined`). */
  changed(worker: ServedWorker, exit: WorkerExit<unknown> | undefined): void;
  /** A task ended: a draining host checks whether it is done. */
  taskEnded(): void;
  /** Whether the host is draining: it hands no more tasks to its threads. */
  draining(): boolean;
  /**
   * Whether records for the worker's pool wait at the host, past what the pool has not yet
   * acknowledged (see `links.ts`): the thread gets no new task meanwhile; {@link ServedWorker.handOn}
   * is called again once they have gone.
   */
  congested(): boolean;
}

/**
 * One worker of a pool that a `looppool-worker` host serves, on a thread of its own: the
 * pool's records (run, cancel, ping, sample, kill) become calls on the thread's port, and what
 * the port reports becomes records for the pool. The thread port is the one a local pool uses,
 * so a thread's death is reported with what it knows (which task started, which held the loop).
 */
export class ServedWorker {
  /** Tasks not yet handed to the thread, by the pool's ticket: the body of each `run` record (of a `runTraced` one: `[task, traceparent]`). */
  private readonly queue = new Map<number, unknown>();
  /** The tickets in {@link queue} of traced tasks (`runTraced`). */
  private readonly traced = new Set<number>();
  /**
   * The tickets of {@link queue} in the order they came (a cancelled one is skipped): handing
   * on never walks the Map from its start, where the holes left by the tasks handed on make
   * each hand-over cost grow with the queue (1.4 µs a task in a profile of 200,000 tiny tasks
   * with a queueSize of 2,048; 0.14 µs this way).
   */
  private readonly order = new Queue<number>();
  /** Tasks handed to the thread: the pool's ticket → the thread's (handed in ticket order, so a window, not a Map). */
  private readonly handed = new TicketWindow<number>();
  private readonly port: ThreadPort<unknown, unknown>;
  /** Whether the pool was last told that the loop is blocked. */
  private wasBlocked = false;
  private ended = false;
  /** How many tasks the thread may hold now ({@link handedAhead}). */
  private readonly capacity: Capacity;

  constructor(
    modulePath: string,
    readonly poolId: string,
    readonly wid: number,
    readonly index: number,
    private readonly setup: WorkerSetupRecord,
    private readonly relay: WorkerRelay,
  ) {
    this.capacity = new Capacity(setup.concurrency, handedAhead.least, handedAhead.ms);
    // Only the setup's fields, whatever else came with it. The thread paces its streams by the
    // pool's window (`streamWindow`): this host holds at most that many values of a task.
    this.port = threadsTransport<unknown, unknown>(modulePath, setupRecord(setup))(index, {
      emitted: (value) => this.tell(HostOp.emitted, value),
      unsendable: (reason) => this.tell(HostOp.unsendable, reason),
      // The thread's spans go on to the pool, whose process exports them.
      spans: (records) => this.tell(HostOp.spans, records),
      exited: (exit) => this.exited(exit),
    });
    this.port.ready.then(
      () => {
        if (this.ended) return;
        this.tell(HostOp.ready);
        relay.changed(this, undefined);
      },
      noop, // reported by exited
    );
  }

  /** `<pool name>#<index>`. */
  get name(): string {
    return `${this.setup.name}#${this.index}`;
  }

  /** Whether its thread holds tasks (a draining host waits until none does). */
  get busy(): boolean {
    return this.handed.size > 0;
  }

  /** Sends the record `[op, wid, a, b]` about this worker to its pool. */
  tell(op: number, a?: unknown, b?: unknown): void {
    this.relay.send(op, this.wid, a, b);
  }

  /** One record of the pool's about this worker: `[op, wid, a, b]`. */
  handle(op: number, a: unknown, b: unknown): void {
    switch (op) {
      case PoolOp.run:
      case PoolOp.runTraced:
        // Nothing waits before it and the thread has room (most tiny tasks): straight to the thread,
        // which spares the queue's Map and array their growing and shrinking (a host allocated
        // about a kilobyte per tiny task, a quarter of it in rehashed Maps).
        if (this.order.length === 0 && this.mayHand()) return this.hand(a as number, op === PoolOp.runTraced, b);
        this.queue.set(a as number, b);
        if (op === PoolOp.runTraced) this.traced.add(a as number);
        this.order.push(a as number);
        return this.handOn();
      case PoolOp.cancel:
        return this.cancel(a as number);
      case PoolOp.credit: {
        const local = this.handed.get(a as number);
        if (local !== undefined) this.port.grant(local, b as number);
        return;
      }
      case PoolOp.kill:
        return this.port.kill();
      case PoolOp.ping:
        // A thread that never answers is killed by the pool, whose port then ends the request.
        return this.port.probe(() => this.tell(HostOp.pong, a));
      case PoolOp.sample:
        return void this.port.sample().then((figures) => this.tell(HostOp.sampled, a, figures));
    }
  }

  /** Task `ticket` is abandoned: dropped if it waits, cancelled on the thread if handed over. */
  cancel(ticket: number): void {
    if (this.queue.delete(ticket)) return void this.traced.delete(ticket);
    const local = this.handed.get(ticket);
    if (local === undefined) return;
    this.handed.delete(ticket);
    this.port.cancel(local);
    this.handOn();
  }

  /**
   * With `blockingThreshold`: tells the pool when the thread's loop has been blocked for half
   * the threshold or more (and by which task), and when it turns again.
   * @returns whether this worker is watched at all.
   */
  checkLoop(): boolean {
    const threshold = this.setup.blockingThreshold;
    if (threshold === undefined) return false;
    const blocked = this.port.blocked();
    if (blocked && blocked.ms >= threshold / 2) {
      this.wasBlocked = true;
      this.tell(HostOp.blocked, blocked.ms, (blocked.observer as HostedTask | undefined)?.ticket ?? 0);
    } else if (this.wasBlocked) {
      this.wasBlocked = false;
      this.tell(HostOp.blocked, 0, 0);
    }
    return true;
  }

  /** The host stops: tell the pool which tasks it gives back unstarted (all it has not handed over). */
  giveBack(): void {
    this.tell(HostOp.exited, hostLost(undefined, this.unhanded(), true));
  }

  /**
   * Its pool went silent: stops the thread and says what became of each task, for the pool
   * if it speaks again (those handed to the thread may have started; the others did not).
   */
  abandon(why: string): ExitRecord {
    const tasks: TaskRecord[] = [...this.handed.keys()].map((ticket) => [ticket, undefined, undefined]);
    tasks.push(...this.unhanded());
    void this.terminate();
    return hostLost(new ClusterError(why), tasks);
  }

  /** Stops the thread; nothing more is reported. */
  terminate(): Promise<void> {
    this.ended = true;
    return this.port.terminate();
  }

  /**
   * Hands queued tasks to the thread, up to {@link handedAhead} beyond its concurrency, so that
   * the thread never waits for the host between tiny tasks; none while the host drains (what
   * it has not handed over, it gives back), nor while results wait at the host for the pool
   * to read (the thread waits with them; a streaming task waits for the pool's credits anyway).
   */
  handOn(): void {
    const { order, queue } = this;
    if (order.length === 0 || !this.mayHand()) return;
    const { limit } = this.capacity;
    while (this.handed.size < limit && order.length > 0) {
      const ticket = order.shift()!;
      if (!queue.has(ticket)) continue; // cancelled while it waited
      const body = queue.get(ticket);
      queue.delete(ticket);
      this.hand(ticket, this.traced.size > 0 && this.traced.delete(ticket), body);
    }
  }

  /** Whether the thread may take a task now (see {@link handOn}); the cheap checks first, since a host asks for each task. */
  private mayHand(): boolean {
    return this.handed.size < this.capacity.limit && !this.ended && !this.relay.draining() && !this.relay.congested();
  }

  /** Hands task `ticket` to the thread: `body` is its `run` record's (`[task, traceparent]` when `traced`). */
  private hand(ticket: number, traced: boolean, body: unknown): void {
    const task = traced ? (body as [unknown, string])[0] : body;
    const traceparent = traced ? (body as [unknown, string])[1] : undefined;
    this.handed.set(ticket, this.port.run(task, new HostedTask(this, ticket), undefined, traceparent));
  }

  /**
   * Task `ticket` completed. When its last result still waits in the outbox as the newest
   * record for the pool (a task that returned one value, the common case), that record
   * becomes `last`: one record per task instead of two, as the thread's own outbox does.
   */
  taskCompleted(ticket: number): void {
    if (!this.taskEnded(ticket)) return;
    if (!this.relay.retag(HostOp.next, this.wid, ticket, HostOp.last)) this.tell(HostOp.complete, ticket);
  }

  /** Task `ticket` failed. */
  taskFailed(ticket: number, failure: TaskFailure): void {
    if (this.taskEnded(ticket)) this.tell(HostOp.error, ticket, failure);
  }

  /** Task `ticket` ended on the thread: its place goes to the next; false if it was cancelled. */
  private taskEnded(ticket: number): boolean {
    if (!this.handed.delete(ticket)) return false;
    this.capacity.taskEnded();
    this.handOn();
    this.relay.taskEnded();
    return true;
  }

  /** The thread ended: tell the pool what each task was doing (those never handed over never started). */
  private exited(exit: WorkerExit<unknown>): void {
    if (this.ended) return;
    this.ended = true;
    if (exit.kind === 'load') this.tell(HostOp.failed, exit.reason, exit.error);
    else {
      const tasks: TaskRecord[] = exit.tasks.map((task) => [(task.observer as HostedTask).ticket, task.started, task.blocking]);
      tasks.push(...this.unhanded());
      this.tell(HostOp.exited, { kind: 'crashed', crash: exit.crash, exitCode: exit.exitCode, error: exit.error, tasks } satisfies ExitRecord);
    }
    this.relay.changed(this, exit);
  }

  /** The tasks not handed to the thread, which never started. */
  private unhanded(): TaskRecord[] {
    return [...this.queue.keys()].map((ticket) => [ticket, false, false]);
  }
}

import type { Transferable } from 'node:worker_threads';
import type { CrashReason } from '../errors';
import { noop } from '../noop';
import type { SpanRecord } from '../otel/record';
import { exportWorkerSpans } from '../otel/relay';
import { Batcher, type BatchTransfers } from './batcher';
import { Ledger, type TaskFacts } from './ledger';
import { Outbox } from './outbox';
import { Op, reviveError, type SerializedError } from './protocol';
import { Readiness } from './readiness';
import { Requests } from './requests';
import type { Paced, PortListener, Probeable, RunObserver, WorkerExit, WorkerFigures, WorkerPort } from './transport';

/** How long (ms) to wait for a worker's figures before reporting without them. */
export const sampleTimeout = 1_000;

/**
 * One worker that speaks the batched triples of `protocol.ts` (a thread, a worker process):
 * what the threads and processes ports share. It hands tasks over through the ledger and the
 * per-turn outbox, routes what the worker sends back, asks pings and stats, and stops the
 * worker gracefully. A subclass is its channel (`send`, `halt`) and what only that channel can
 * tell when the worker ends.
 */
export abstract class BatchPort<T, R> implements WorkerPort<T, R>, Probeable, Paced {
  protected readonly readiness = new Readiness();
  readonly ready = this.readiness.promise;
  /** Tasks sent and not yet ended; their tickets are the ids the worker knows them by. */
  protected readonly ledger = new Ledger<R>();
  /** Pings and figure requests sent and not yet answered. */
  protected readonly requests = new Requests();
  /** Triples for the worker, posted once this turn's messages are read; dropped once stopped. */
  protected readonly outbox = new Outbox((batch, transfers) => {
    if (this.state !== 'stopped') this.batcher.post(batch, transfers, (part, partTransfers) => this.postOneByOne(part, partTransfers));
  });
  private readonly batcher = new Batcher({ postMessage: (message, transfer) => this.send(message, transfer) });
  protected state: 'starting' | 'ready' | 'stopped' = 'starting';
  /** Resolves when the worker has exited, for whatever reason (at once if it never started). */
  protected exit: Promise<void> = Promise.resolve();
  /** The error that ended the worker, as it reported it. */
  protected lastError: Error | undefined;
  /** Set when the worker reported an uncaught error just before it died. */
  protected fatal = false;
  /** Set when `kill` ended the worker. */
  protected killed = false;

  constructor(
    readonly index: number,
    protected readonly listener: PortListener<R>,
    /** How long (ms) a stopping worker may run its abort handlers before it is ended. */
    private readonly gracePeriod: number,
  ) {}

  /** Sends one message on the channel; throws at once if it cannot be cloned. */
  protected abstract send(message: unknown[], transfer?: readonly Transferable[]): void;
  /** Ends the worker now; `exit` then resolves. */
  protected abstract halt(): void;

  run(task: T, observer: RunObserver<R>, only?: readonly Transferable[], traceparent?: string): number {
    const transfer = this.transferOf(task, only);
    const id = this.ledger.hand(observer, transfer !== undefined && transfer.length > 0);
    if (this.state === 'stopped') return id;
    if (traceparent) this.outbox.add(Op.runTraced, id, [task, traceparent], transfer);
    else this.outbox.add(Op.run, id, task, transfer);
    return id;
  }

  cancel(ticket: number): void {
    if (this.ledger.end(ticket) && this.state !== 'stopped') this.outbox.add(Op.cancel, ticket, 0);
  }

  /** Posted at the end of the message being read, not of the turn: the worker may be waiting for it (see `Outbox`). */
  grant(ticket: number, n: number): void {
    if (!this.ledger.has(ticket) || this.state === 'stopped') return;
    this.outbox.add(Op.credit, ticket, n);
    this.outbox.soon();
  }

  probe(answered: () => void): void {
    this.requests.open(Op.ping, (id) => this.outbox.add(Op.ping, id, 0), answered, noop);
  }

  /** The worker's own figures; undefined if it does not answer in {@link sampleTimeout} ms (a blocked loop cannot). */
  protected figures(): Promise<WorkerFigures | undefined> {
    return this.requests.ask(Op.stats, (id) => this.outbox.add(Op.stats, id, 0), sampleTimeout) as Promise<WorkerFigures | undefined>;
  }

  kill(): void {
    if (this.state === 'stopped' || this.killed) return;
    this.killed = true;
    this.halt();
  }

  /**
   * Stops the worker. A worker that has loaded (it may have started tasks) is asked to abort
   * its tasks' signals and exit, and is ended if it has not within `gracePeriod`, whether or
   * not its ready was seen here; a worker still loading is ended at once.
   */
  async terminate(): Promise<void> {
    this.readiness.terminated();
    if (this.state === 'stopped') return this.exit;
    const graceful = this.mayHaveStarted();
    this.ledger.clear();
    this.requests.close();
    if (graceful) {
      this.outbox.add(Op.stop, 0, 0);
      this.outbox.flush();
    }
    this.state = 'stopped';
    this.outbox.clear();
    const timer = setTimeout(() => this.halt(), graceful ? this.gracePeriod : 0);
    await this.exit;
    clearTimeout(timer);
    this.stopped(); // what the channel holds goes too (a thread's ports)
  }

  /**
   * Whether the worker may have started tasks, asked once as it is terminated: such a worker
   * gets `gracePeriod` for their `finally` blocks. Here: its ready was seen. A port whose worker
   * takes tasks before its ready arrives tells more, and bars one still loading from taking any.
   */
  protected mayHaveStarted(): boolean {
    return this.state === 'ready';
  }

  /** What of `task` to move rather than copy; a port that cannot move things copies everything. */
  protected transferOf(_task: T, _only: readonly Transferable[] | undefined): readonly Transferable[] | undefined {
    return undefined;
  }

  /** Routes one batch the worker sent. */
  protected receive(batch: unknown[]): void {
    for (let i = 0; i < batch.length && this.state !== 'stopped'; i += 3) this.route(batch[i] as Op, batch[i + 1] as number, batch[i + 2]);
  }

  /** Routes one triple of a batch the worker sent. */
  private route(op: Op, id: number, payload: unknown): void {
    const { ledger } = this;
    switch (op) {
      case Op.next:
        return ledger.next(id, payload as R);
      case Op.last: {
        const observer = ledger.end(id);
        observer?.next(payload as R);
        return observer?.complete();
      }
      case Op.complete:
        return ledger.end(id)?.complete();
      case Op.error:
        return ledger.end(id)?.error({ kind: 'threw', error: reviveError(payload as SerializedError) });
      case Op.unserializable:
        return ledger.end(id)?.error({ kind: 'unserializable', subject: 'result', reason: payload as string });
      case Op.started:
        return ledger.started(id);
      case Op.emit:
        return this.listener.emitted(payload as R);
      case Op.emitUnserializable:
        return this.listener.unsendable(payload as string);
      case Op.fatal:
        this.lastError = reviveError(payload as SerializedError);
        this.fatal = true;
        return;
      case Op.pong:
      case Op.stats:
        return this.requests.answer(id, payload);
      case Op.spans:
        return this.listener.spans ? this.listener.spans(payload as SpanRecord[]) : exportWorkerSpans(payload as SpanRecord[]);
    }
  }

  /** Why a task cannot be sent, in words. */
  protected unsendable(error: unknown): string {
    return messageOf(error);
  }

  /** The worker is gone: nothing more goes to it, nothing more is asked of it. */
  protected stopped(): void {
    this.state = 'stopped';
    this.outbox.clear();
    this.requests.close();
  }

  /**
   * The worker ended after it was ready: the listener hears what ended it (`unresponsive` when
   * `kill` did, else what it said or left behind) and what `facts` tell of each task left.
   */
  protected crashed(killedIt: boolean, outOfMemory: boolean, exitCode: number, error: Error | undefined, facts: TaskFacts): void {
    const crash: CrashReason = killedIt ? 'unresponsive' : outOfMemory ? 'out of memory' : this.fatal ? 'uncaught error' : 'exited';
    this.readiness.resolve();
    this.listener.exited({ kind: 'crashed', crash, exitCode, error, tasks: this.ledger.atExit(facts) });
  }

  /** The worker cannot start at all (`reason`): the port stops, and says so once its constructor has returned. */
  protected failAtStart(reason: string, workerDataUnsendable = false): void {
    this.stopped();
    queueMicrotask(() => this.readiness.pending && this.loadFailed(reason, undefined, 1, workerDataUnsendable));
  }

  /** The worker will never be ready: `ready` rejects and the listener hears why, with its tasks (none started). */
  protected loadFailed(reason: string, error: Error | undefined, exitCode: number, workerDataUnsendable = false): void {
    const exit: WorkerExit<R> = { kind: 'load', reason, exitCode, error, tasks: this.ledger.atExit(), workerDataUnsendable };
    this.readiness.fail(exit);
    this.listener.exited(exit);
  }

  /** A batch failed to clone: send what can be sent and fail the tasks that cannot. */
  private postOneByOne(batch: unknown[], transfers: BatchTransfers): void {
    for (let i = 0; i < batch.length; i += 3) {
      const id = batch[i + 1] as number;
      try {
        this.send([batch[i], id, batch[i + 2]], transfers.get(i));
      } catch (error) {
        this.ledger.end(id)?.error({ kind: 'unserializable', subject: 'task', reason: this.unsendable(error) });
      }
    }
  }
}

/** What was thrown, in words. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import type { ClusterError } from '../errors';
import { noop } from '../noop';
import type { SpanRecord } from '../otel/record';
import { exportWorkerSpans } from '../otel/relay';
import { Ledger } from '../transport/ledger';
import { Readiness } from '../transport/readiness';
import { Requests } from '../transport/requests';
import type {
  Introspectable,
  LoopWatch,
  Paced,
  PortListener,
  Probeable,
  RunObserver,
  TaskFailure,
  WorkerExit,
  WorkerPort,
  WorkerSample,
} from '../transport/transport';
import type { HubLink, HubPort } from './link';
import { HostOp, PoolOp, type ExitRecord, type Unsendable } from './wire';

/** How long (ms) to wait for a remote worker's figures before reporting without them. */
const sampleTimeout = 1_000;

/**
 * Worker `index` of a pool, served by whichever `looppool-worker` host the hub gives it (the
 * port does not know which: it asks the hub to send). Tasks, cancels and pings go to the host
 * as records (see `wire.ts`); what the host's local thread reports comes back the same way.
 * The host's local port knows what ran when a thread dies; when a whole host goes silent,
 * only what the host said before is known: tasks it said it started count as started, the
 * others as "may have".
 */
export class NatsPort<T, R> implements WorkerPort<T, R>, Paced, Probeable, Introspectable, LoopWatch<R>, HubPort {
  private readonly readiness = new Readiness();
  readonly ready = this.readiness.promise;
  /** A worker may wait long for a host: until one serves it, the others take its tasks. */
  readonly takesTasksWhenReady = true;
  /** A round trip through the server and a host's own batching: what a host hands its thread ahead, too. */
  readonly handAheadMs = 20;
  /** Tasks handed over and not ended; their tickets are the ids the host knows them by. */
  private readonly ledger = new Ledger<R>();
  /** The `run` records of those tasks (op and body), kept until the worker is ready, to send again if a host refuses it. */
  private readonly unsent = new Map<number, readonly [number, unknown]>();
  /** Pings and figure requests not yet answered; sent again to a new host. */
  private readonly requests = new Requests();
  private state: 'waiting' | 'starting' | 'ready' | 'ended' = 'waiting';
  /** {@link Located}: the `hostname:pid` of the host that serves this worker, while one does. */
  get location(): string | undefined {
    return this.hub.labelOf(this.wid);
  }
  /** What the host last said of a blocked loop, and when (`Date.now()`), until the loop turns again. */
  private block: { readonly ms: number; readonly at: number; readonly ticket: number } | undefined;
  /** Set while a kill waits for the host's word. */
  private killing: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: HubLink,
    readonly wid: number,
    readonly index: number,
    private readonly listener: PortListener<R>,
  ) {}

  run(task: T, observer: RunObserver<R>, _transfer?: unknown, traceparent?: string): number {
    const ticket = this.ledger.hand(observer);
    const op = traceparent ? PoolOp.runTraced : PoolOp.run;
    const body = traceparent ? [task, traceparent] : task;
    if (this.state !== 'ready') this.unsent.set(ticket, [op, body]);
    this.hub.send(this.wid, op, ticket, body);
    return ticket;
  }

  /** Relays what task `ticket`'s consumer has taken to the host, which passes it on to its thread. */
  grant(ticket: number, n: number): void {
    if (this.ledger.has(ticket)) this.hub.send(this.wid, PoolOp.credit, ticket, n);
  }

  cancel(ticket: number): void {
    if (!this.ledger.end(ticket)) return;
    this.unsent.delete(ticket);
    this.hub.send(this.wid, PoolOp.cancel, ticket);
  }

  probe(answered: () => void): void {
    this.requests.open(PoolOp.ping, (id) => this.hub.send(this.wid, PoolOp.ping, id), answered, noop);
  }

  async sample(): Promise<WorkerSample> {
    if (this.state !== 'ready') return { elu: undefined, figures: undefined };
    const answer = await this.requests.ask(PoolOp.sample, (id) => this.hub.send(this.wid, PoolOp.sample, id), sampleTimeout);
    return (answer as WorkerSample | undefined) ?? { elu: undefined, figures: undefined };
  }

  /** How long the remote loop has not turned, as its host last said (only with `blockingThreshold`). */
  blocked(): { readonly ms: number; readonly observer: RunObserver<R> | undefined } | undefined {
    if (!this.block) return undefined;
    return { ms: this.block.ms + (Date.now() - this.block.at), observer: this.ledger.observer(this.block.ticket) };
  }

  /**
   * Asks the host to end the thread: its `exited` says which task held the loop. A host that
   * does not answer within `ackWait` is not waited for.
   */
  kill(): void {
    if (this.state === 'ended' || this.killing) return;
    const unanswered = (): void => this.end({ kind: 'crashed', crash: 'unresponsive', exitCode: 1, error: undefined, tasks: [] });
    if (!this.hub.send(this.wid, PoolOp.kill)) return unanswered();
    this.killing = setTimeout(unanswered, this.hub.ackWait);
  }

  async terminate(): Promise<void> {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.killing);
    this.readiness.terminated();
    this.requests.close();
    this.ledger.clear();
    this.unsent.clear();
    await this.hub.detach(this.wid, true);
  }

  /** No host serves the worker yet: it waits for a free thread. */
  get unserved(): boolean {
    return this.state === 'waiting';
  }

  get isServed(): boolean {
    return this.state === 'ready';
  }

  /** Task `ticket` could not be encoded for the host, or is too large: it fails, the worker goes on. */
  unsendableTask(ticket: number, why: Unsendable): void {
    const observer = this.ledger.end(ticket);
    if (!observer) return;
    this.unsent.delete(ticket);
    this.hub.send(this.wid, PoolOp.cancel, ticket);
    observer.error(
      why.kind === 'tooLarge'
        ? { kind: 'tooLarge', subject: 'task', bytes: why.bytes, limit: why.limit, maxPayload: why.maxPayload }
        : { kind: 'unserializable', subject: 'task', reason: why.reason },
    );
  }

  /** The worker's setup (its `workerData`) could not be encoded, or is too large: it fails to load. */
  unsendableSetup(why: Unsendable): void {
    this.end({ kind: 'load', reason: why.reason, exitCode: 1, error: undefined, tasks: [] }, false, true);
  }

  assigned(): void {
    this.state = 'starting';
    this.hub.send(this.wid, PoolOp.setup, this.index, this.hub.setup);
    for (const [ticket, [op, body]] of this.unsent) this.hub.send(this.wid, op, ticket, body);
    for (const [id, op] of this.requests.each()) this.hub.send(this.wid, op, id);
  }

  receive(op: number, a: unknown, b: unknown): void {
    if (this.state === 'ended') return;
    if (op === HostOp.blocked) {
      const ms = a as number;
      this.block = ms > 0 ? { ms, at: Date.now(), ticket: b as number } : undefined;
      return;
    }
    if (op !== HostOp.emitted) this.block = undefined; // the worker spoke: its loop turns
    switch (op) {
      case HostOp.ready:
        this.state = 'ready';
        this.unsent.clear();
        this.readiness.resolve();
        return;
      case HostOp.refused:
        // Another pool took the host's last thread first: wait for another host, send everything again.
        this.state = 'waiting';
        this.hub.refused(this.wid);
        return;
      case HostOp.failed:
        return this.end({ kind: 'load', reason: a as string, exitCode: 1, error: b as Error | undefined, tasks: [] });
      case HostOp.started:
        return this.ledger.started(a as number);
      case HostOp.next:
        return this.ledger.next(a as number, b as R);
      case HostOp.last: {
        const observer = this.ledger.end(a as number);
        observer?.next(b as R);
        return observer?.complete();
      }
      case HostOp.complete:
        return this.ledger.end(a as number)?.complete();
      case HostOp.error:
        return this.ledger.end(a as number)?.error(b as TaskFailure);
      case HostOp.emitted:
        return this.listener.emitted(a as R);
      case HostOp.unsendable:
        return this.listener.unsendable(a as string);
      case HostOp.pong:
      case HostOp.sampled:
        return this.requests.answer(a as number, b);
      case HostOp.exited:
        return this.end(a as ExitRecord, true);
      case HostOp.spans:
        return exportWorkerSpans(a as SpanRecord[]);
    }
  }

  outOfReach(silentMs: number): void {
    if (this.state !== 'ended') this.listener.outOfReach?.(silentMs);
  }

  backInReach(): void {
    if (this.state !== 'ended') this.listener.backInReach?.();
  }

  lost(error: ClusterError): void {
    this.end({ kind: 'crashed', crash: 'host lost', exitCode: -1, error, tasks: [] });
  }

  unreachable(error: Error): void {
    this.end({ kind: 'load', reason: error.message, exitCode: 1, error, tasks: [] });
  }

  /**
   * Ends the worker: what the host said of each task, or what this side knows.
   * @param fromHost the host itself sent `exit`: it lists every task the host had, so a task
   *   it does not list reached the host after the worker ended, and never started.
   */
  private end(exit: ExitRecord, fromHost = false, workerDataUnsendable = false): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.killing);
    this.requests.close();
    this.unsent.clear();
    void this.hub.detach(this.wid, true);
    const told = new Map(exit.tasks.map(([ticket, started, blocking]) => [ticket, { started, blocking }]));
    // A worker that never became ready started nothing.
    const tasks =
      exit.kind === 'load'
        ? this.ledger.atExit()
        : this.ledger.atExit((ticket) => ({
            started: told.get(ticket)?.started ?? (fromHost ? false : undefined),
            blocking: told.get(ticket)?.blocking,
          }));
    const { exitCode, error } = exit;
    const workerExit: WorkerExit<R> =
      exit.kind === 'load'
        ? { kind: 'load', reason: exit.reason, exitCode, error, tasks, ...(workerDataUnsendable ? { workerDataUnsendable } : {}) }
        : { kind: 'crashed', crash: exit.crash, exitCode, error, tasks, ...(exit.handedBack ? { handedBack: true } : {}) };
    this.readiness.fail(workerExit);
    this.listener.exited(workerExit);
  }
}

import { ClusterError } from '../errors';
import type {
  Introspectable,
  LoopWatch,
  PortListener,
  Probeable,
  RunObserver,
  TaskFailure,
  WorkerExit,
  WorkerPort,
  WorkerSample,
} from '../transport/transport';
import type { Hub, HostEntry } from './hub';
import { HostOp, PoolOp, type ExitRecord, type Unsendable } from './wire';

/** How long (ms) to wait for a remote worker's figures before reporting without them. */
const sampleTimeout = 1_000;

const noop = (): void => {};

/** A task handed to the port and not ended. */
interface Sent<T, R> {
  readonly observer: RunObserver<R>;
  /** The task, kept until the worker is ready, to send again if a host refuses the worker. */
  task: T | undefined;
  /** The host said it started (or sent a result). */
  started: boolean;
}

/**
 * Worker `index` of a pool, served by whichever `looppool-worker` host the hub assigned it
 * to. Tasks, cancels and pings go to the host as records (see `wire.ts`); what the host's
 * local thread reports comes back the same way. The host's local port knows what ran when a
 * thread dies; when a whole host goes silent, only what the host said before is known:
 * tasks it said it started count as started, the others as "may have".
 */
export class NatsPort<T, R> implements WorkerPort<T, R>, Probeable, Introspectable, LoopWatch<R> {
  readonly ready: Promise<void>;
  /** A worker may wait long for a host: until one serves it, the others take its tasks. */
  readonly takesTasksWhenReady = true;
  private settleReady: { resolve(): void; reject(error: unknown): void } | undefined;
  private readonly running = new Map<number, Sent<T, R>>();
  private lastTicket = 0;
  private state: 'waiting' | 'starting' | 'ready' | 'ended' = 'waiting';
  /** The host that serves this worker, once assigned. */
  host: HostEntry | undefined;
  /** Pings and figure requests not yet answered, by id. */
  private readonly requests = new Map<number, { readonly op: number; readonly answered: (payload: unknown) => void }>();
  private lastRequest = 0;
  /** What the host last said of a blocked loop, and when (`Date.now()`), until the loop turns again. */
  private block: { readonly ms: number; readonly at: number; readonly ticket: number } | undefined;
  /** Set while a kill waits for the host's word. */
  private killing: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: Hub,
    readonly wid: number,
    readonly index: number,
    private readonly listener: PortListener<R>,
  ) {
    this.ready = new Promise<void>((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.ready.catch(noop); // the failure is reported through the listener
  }

  run(task: T, observer: RunObserver<R>): number {
    const ticket = ++this.lastTicket;
    this.running.set(ticket, { observer, task: this.state === 'ready' ? undefined : task, started: false });
    if (this.host) this.hub.send(this.host, PoolOp.run, this.wid, ticket, task);
    return ticket;
  }

  cancel(ticket: number): void {
    if (this.running.delete(ticket) && this.host) this.hub.send(this.host, PoolOp.cancel, this.wid, ticket);
  }

  probe(answered: () => void): void {
    this.request(PoolOp.ping, answered);
  }

  async sample(): Promise<WorkerSample> {
    if (this.state !== 'ready') return { elu: undefined, figures: undefined };
    const answer = await new Promise<unknown>((resolve) => {
      const id = this.request(PoolOp.sample, resolve);
      setTimeout(() => {
        if (this.requests.delete(id)) resolve(undefined);
      }, sampleTimeout).unref();
    });
    return (answer as WorkerSample | undefined) ?? { elu: undefined, figures: undefined };
  }

  /**
   * Asks the host to end the thread: its `exited` says which task held the loop. A host that
   * does not answer within `ackWait` is not waited for.
   */
  /** How long the remote loop has not turned, as its host last said (only with `blockingThreshold`). */
  blocked(): { readonly ms: number; readonly observer: RunObserver<R> | undefined } | undefined {
    if (!this.block) return undefined;
    return { ms: this.block.ms + (Date.now() - this.block.at), observer: this.running.get(this.block.ticket)?.observer };
  }

  kill(): void {
    if (this.state === 'ended' || this.killing) return;
    const unanswered = (): void =>
      this.end({ kind: 'crashed', reason: 'killed', crash: 'unresponsive', exitCode: 1, error: undefined, tasks: [] });
    if (!this.host) return unanswered();
    this.killing = setTimeout(unanswered, this.hub.ackWait);
    this.hub.send(this.host, PoolOp.kill, this.wid);
  }

  async terminate(): Promise<void> {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.killing);
    this.settleReady = undefined;
    this.running.clear();
    await this.hub.detach(this, true);
  }

  /** The worker runs on its host (it said it is ready). */
  get isServed(): boolean {
    return this.state === 'ready';
  }

  /** Task `ticket` could not be encoded for the host, or is too large: it fails, the worker goes on. */
  unsendableTask(ticket: number, why: Unsendable): void {
    const sent = this.running.get(ticket);
    if (!sent) return;
    this.running.delete(ticket);
    if (this.host) this.hub.send(this.host, PoolOp.cancel, this.wid, ticket);
    sent.observer.error(
      why.kind === 'tooLarge'
        ? { kind: 'tooLarge', subject: 'task', bytes: why.bytes, limit: why.limit, maxPayload: why.maxPayload }
        : { kind: 'unserializable', subject: 'task', reason: why.reason },
    );
  }

  /** The worker's setup (its `workerData`) could not be encoded, or is too large: it fails to load. */
  unsendableSetup(why: Unsendable): void {
    this.end({ kind: 'load', reason: why.reason, crash: 'exited', exitCode: 1, error: undefined, tasks: [] }, false, true);
  }

  /** The hub gave this worker to `host`: send it the setup, then what waits. */
  assigned(host: HostEntry): void {
    this.host = host;
    this.state = 'starting';
    this.hub.send(host, PoolOp.setup, this.wid, this.index, this.hub.setup);
    for (const [ticket, sent] of this.running) this.hub.send(host, PoolOp.run, this.wid, ticket, sent.task);
    for (const [id, request] of this.requests) this.hub.send(host, request.op, this.wid, id);
  }

  /** One record, `[op, wid, a, b]`, from the host that serves this worker. */
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
        for (const sent of this.running.values()) sent.task = undefined;
        this.settleReady?.resolve();
        this.settleReady = undefined;
        return;
      case HostOp.refused:
        // Another pool took the host's last thread first: wait for another host, send everything again.
        this.host = undefined;
        this.state = 'waiting';
        this.hub.reassign(this);
        return;
      case HostOp.failed: {
        const reason = a as string;
        const error = b as Error | undefined;
        this.end({ kind: 'load', reason, crash: 'exited', exitCode: 1, error, tasks: [] });
        return;
      }
      case HostOp.started: {
        const sent = this.running.get(a as number);
        if (sent) this.start(sent);
        return;
      }
      case HostOp.next: {
        const sent = this.running.get(a as number);
        if (!sent) return;
        this.start(sent);
        sent.observer.next(b as R);
        return;
      }
      case HostOp.last:
      case HostOp.complete:
      case HostOp.error: {
        const ticket = a as number;
        const sent = this.running.get(ticket);
        if (!sent) return;
        this.running.delete(ticket);
        this.start(sent);
        if (op === HostOp.error) return sent.observer.error(b as TaskFailure);
        if (op === HostOp.last) sent.observer.next(b as R);
        sent.observer.complete();
        return;
      }
      case HostOp.emitted:
        return this.listener.emitted(a as R);
      case HostOp.unsendable:
        return this.listener.unsendable(a as string);
      case HostOp.pong:
      case HostOp.sampled: {
        const request = this.requests.get(a as number);
        if (!request) return;
        this.requests.delete(a as number);
        request.answered(b);
        return;
      }
      case HostOp.exited:
        return this.end(a as ExitRecord, true);
    }
  }

  /** The host was not heard from within `ackWait`, or left: the worker ended with it. */
  lost(why: string): void {
    this.end({ kind: 'crashed', reason: why, crash: 'host lost', exitCode: -1, error: new ClusterError(why), tasks: [] });
  }

  /** The pool could not reach the cluster at all. */
  unreachable(error: Error): void {
    this.end({ kind: 'load', reason: error.message, crash: 'exited', exitCode: 1, error, tasks: [] });
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
    void this.hub.detach(this, true);
    const told = new Map(exit.tasks.map(([ticket, started, blocking]) => [ticket, { started, blocking }]));
    const tasks = [...this.running].map(([ticket, sent]) => ({
      observer: sent.observer,
      started: sent.started || (told.get(ticket)?.started ?? (fromHost ? false : undefined)),
      blocking: told.get(ticket)?.blocking,
      transferred: false,
    }));
    this.running.clear();
    const workerExit: WorkerExit<R> = {
      kind: exit.kind,
      reason: exit.reason,
      crash: exit.crash,
      exitCode: exit.exitCode,
      error: exit.error,
      ...(workerDataUnsendable ? { workerDataUnsendable } : {}),
      tasks,
    };
    this.settleReady?.reject(workerExit);
    this.settleReady = undefined;
    this.listener.exited(workerExit);
  }

  private start(sent: Sent<T, R>): void {
    if (sent.started) return;
    sent.started = true;
    sent.observer.started();
  }

  private request(op: number, answered: (payload: unknown) => void): number {
    const id = ++this.lastRequest;
    this.requests.set(id, { op, answered });
    if (this.host) this.hub.send(this.host, op, this.wid, id);
    return id;
  }
}

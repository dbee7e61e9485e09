import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { ClusterError } from '../errors';
import { connectNats, type NatsConnectOptions } from '../nats/client';
import { Endpoint, type EndpointOwner } from '../nats/endpoint';
import { announceInterval, encode, HostOp, PoolOp, subjects, taskFailure, type ExitRecord, type Unsendable, type WorkerSetupRecord } from '../nats/wire';
import type { WorkerExit } from '../transport/transport';
import { hostLost, ServedWorker, type WorkerRelay } from './servedWorker';

/** How `looppool-worker --nats` serves a pool. */
export interface ClusterHostOptions extends NatsConnectOptions {
  /** Absolute path of the worker module: the only code this host runs. */
  readonly modulePath: string;
  readonly pool: string;
  /** Worker threads this host offers. */
  readonly threads: number;
  /** Where the host says what it does, one line at a time. */
  readonly log: (line: string) => void;
}

/** How often (ms) a host looks at the loops of threads whose pool set `blockingThreshold`. */
const loopWatchInterval = 50;

/** How long (ms) a host remembers the workers it stopped because their pool went silent. */
const abandonedKept = 600_000;

/**
 * The host side of `looppool/nats`: offers `threads` worker threads to the pool named
 * `pool`, runs each worker a pool gives it on one of them ({@link ServedWorker}), with the
 * module named on the command line and nothing else, announces itself, watches that its pools
 * are alive, and stops gracefully. See docs/cluster.md.
 */
export class ClusterHost implements EndpointOwner {
  private readonly hostId = randomBytes(8).toString('hex');
  private readonly label = `${hostname()}:${process.pid}`;
  private readonly subjects;
  /** Its pools: their records, and how long each has been silent. */
  private readonly endpoint: Endpoint;
  /** The workers it serves, by pool, then by `wid` (no key built per record). */
  private readonly served = new Map<string, Map<number, ServedWorker>>();
  /**
   * The workers it stopped because their pool went silent, by pool, then by `wid`: what became
   * of their tasks, told to the pool again if it speaks to them (its silence may have been a
   * link that lost the pool's words but not the host's, so the pool still counts on them).
   */
  private readonly abandoned = new Map<string, { readonly at: number; readonly workers: Map<number, ExitRecord> }>();
  private timer: NodeJS.Timeout | undefined;
  private loopWatch: NodeJS.Timeout | undefined;
  /** While draining: checks whether every thread is done. */
  private drained: (() => void) | undefined;
  private stopping = false;

  private constructor(private readonly options: ClusterHostOptions) {
    this.subjects = subjects(options.pool);
    this.endpoint = new Endpoint(this.hostId, this.subjects.pool, announceInterval, this);
  }

  /** Connects and starts serving; rejects with a `ClusterError` if NATS cannot be reached. */
  static async start(options: ClusterHostOptions): Promise<ClusterHost> {
    const nc = await connectNats(options, `looppool-worker ${options.pool}`);
    const host = new ClusterHost(options);
    host.listen(nc);
    return host;
  }

  private get free(): number {
    return this.drained || this.stopping ? 0 : this.options.threads - this.workers().length;
  }

  private workers(): ServedWorker[] {
    return [...this.served.values()].flatMap((workers) => [...workers.values()]);
  }

  /** Forgets `worker`, if it is served; a draining host checks whether it is done. */
  private forget(worker: ServedWorker): void {
    const workers = this.served.get(worker.poolId);
    if (workers?.get(worker.wid) !== worker) return;
    workers.delete(worker.wid);
    if (workers.size === 0) this.served.delete(worker.poolId);
    this.drained?.();
  }

  private listen(nc: NatsConnection): void {
    this.endpoint.open(nc, this.subjects.host(this.hostId));
    nc.subscribe(this.subjects.discover, { callback: () => this.announce() });
    this.timer = setInterval(() => this.tick(), announceInterval);
    this.announce();
    this.log(`serving pool ${this.options.pool} with ${this.options.threads} thread(s) of ${this.options.modulePath}`);
  }

  private log(line: string): void {
    this.options.log(`looppool-worker ${this.label}: ${line}`);
  }

  private announce(): void {
    // One record, no header: the announcement names its host itself.
    this.endpoint.publish(this.subjects.hosts, encode([[this.hostId, this.free, this.options.threads, this.label]]));
  }

  /** A record from a pool about one of its workers (or, `wid` 0, a heartbeat with the pool's `ackWait`). */
  record(poolId: string, op: number, wid: number, a: unknown, b: unknown): void {
    if (op === PoolOp.heartbeat) return this.endpoint.watch(poolId, Number(a) || 3_000);
    if (op === PoolOp.setup) return this.setup(poolId, wid, a as number, b as WorkerSetupRecord);
    const worker = this.served.get(poolId)?.get(wid);
    if (!worker) return this.unserved(poolId, op, wid);
    if (op === PoolOp.stop) this.release(worker);
    else worker.handle(op, a, b);
  }

  /**
   * A record for a worker this host does not serve (any more): unless the pool stops it, the
   * pool still counts on it, so the worker's end goes to the pool again: what became of its
   * tasks if the host stopped it for its pool's silence, else that none of them started.
   */
  private unserved(poolId: string, op: number, wid: number): void {
    if (op === PoolOp.stop || op === PoolOp.cancel) return;
    const record =
      this.abandoned.get(poolId)?.workers.get(wid) ??
      hostLost(new ClusterError(`host ${this.label} does not serve worker ${wid} of pool ${this.options.pool} (any more)`), []);
    this.abandoned.get(poolId)?.workers.delete(wid);
    this.endpoint.outbox.add(this.subjects.pool(poolId), HostOp.exited, wid, record);
  }

  private setup(poolId: string, wid: number, index: number, setup: WorkerSetupRecord): void {
    if (this.served.get(poolId)?.has(wid)) return;
    const to = this.subjects.pool(poolId);
    if (this.free <= 0) return this.endpoint.outbox.add(to, HostOp.refused, wid);
    if (!this.endpoint.watches(poolId)) this.endpoint.watch(poolId, 3_000);
    const relay: WorkerRelay = {
      send: (op, wid, a, b) => this.endpoint.outbox.add(to, op, wid, a, b),
      retag: (op, wid, a, retagged) => this.endpoint.outbox.retag(to, op, wid, a, retagged),
      changed: (worker, exit) => this.changed(worker, exit),
      taskEnded: () => this.drained?.(),
      draining: () => this.drained !== undefined,
      congested: () => this.endpoint.congested(to),
    };
    let workers = this.served.get(poolId);
    if (!workers) this.served.set(poolId, (workers = new Map()));
    workers.set(wid, new ServedWorker(this.options.modulePath, poolId, wid, index, setup, relay));
    if (setup.blockingThreshold !== undefined) this.watchLoops();
  }

  /** A worker's thread is ready (`exit` undefined) or ended. */
  private changed(worker: ServedWorker, exit: WorkerExit<unknown> | undefined): void {
    if (this.served.get(worker.poolId)?.get(worker.wid) !== worker) return;
    if (!exit) return this.log(`serving worker ${worker.index} of pool ${this.options.pool} (${worker.name})`);
    this.forget(worker);
    this.log(`worker ${worker.index} of pool ${this.options.pool} ended: ${exit.kind === 'load' ? exit.reason : exit.crash}`);
  }

  /** Every {@link loopWatchInterval} ms, while some worker's pool set `blockingThreshold`, reports blocked loops. */
  private watchLoops(): void {
    if (this.loopWatch) return;
    this.loopWatch = setInterval(() => {
      let watched = false;
      for (const worker of this.workers()) watched = worker.checkLoop() || watched;
      if (watched) return;
      clearInterval(this.loopWatch);
      this.loopWatch = undefined;
    }, loopWatchInterval);
  }

  /** Stops a worker its pool no longer wants. */
  private release(worker: ServedWorker): void {
    this.forget(worker);
    void worker.terminate();
    this.log(`stopped worker ${worker.index} of pool ${this.options.pool}: stopped by its pool`);
  }

  private tick(): void {
    this.announce();
    for (const [poolId, ackWait] of this.endpoint.silent(true)) this.abandonPool(poolId, `its pool was not heard from for ${ackWait} ms`);
    const now = performance.now();
    for (const [poolId, { at }] of this.abandoned) if (now - at > abandonedKept) this.abandoned.delete(poolId);
    this.heartbeat();
  }

  /** What waited for a pool to read has gone: its workers' threads get tasks again. */
  flowing(poolId: string): void {
    for (const worker of this.served.get(poolId)?.values() ?? []) worker.handOn();
  }

  /** Tells each pool it serves that it is alive. */
  heartbeat(): void {
    for (const poolId of this.served.keys()) this.endpoint.outbox.add(this.subjects.pool(poolId), HostOp.heartbeat, 0);
  }

  /**
   * Stops the workers of a pool given up; tells the pool what became of their tasks, now (if it
   * hears) and again if it speaks to them later.
   */
  private abandonPool(poolId: string, why: string): void {
    const workers = [...(this.served.get(poolId)?.values() ?? [])];
    if (workers.length === 0) return;
    const records = new Map<number, ExitRecord>();
    for (const worker of workers) {
      this.forget(worker);
      const record = worker.abandon(`host ${this.label} stopped worker ${worker.index}: ${why}`);
      records.set(worker.wid, record);
      this.endpoint.outbox.add(this.subjects.pool(poolId), HostOp.exited, worker.wid, record);
      this.log(`stopped worker ${worker.index} of pool ${this.options.pool}: ${why}`);
    }
    this.abandoned.set(poolId, { at: performance.now(), workers: records });
  }

  /** The link to a pool broke (messages lost that could not be sent again, or the pool gave this host up): its workers stop. */
  broken(poolId: string): void {
    this.abandonPool(poolId, 'messages between them were lost and could not be sent again');
  }

  /**
   * A result that cannot be encoded, or is too large, fails its task, in its place (the task
   * is cancelled on its thread if it still runs); an emitted value is dropped with a word to
   * the pool.
   */
  unsendable(poolId: string, record: unknown[], why: Unsendable): unknown[] | undefined {
    const [op, wid, ticket] = record as [number, number, number];
    if (op === HostOp.next || op === HostOp.last) {
      this.served.get(poolId)?.get(wid)?.cancel(ticket);
      return [HostOp.error, wid, ticket, taskFailure(why, 'result')];
    }
    if (op === HostOp.emitted) return [HostOp.unsendable, wid, why.reason];
    return undefined;
  }

  /**
   * Stops gracefully: takes no more workers or tasks, lets the tasks its threads hold end,
   * gives back those it had not handed over (the pool runs them elsewhere), waits until each
   * pool has stopped its workers, then stops the threads and closes the connection.
   */
  async drain(): Promise<void> {
    if (this.drained || this.stopping) return;
    this.log('stopping: finishing what runs, giving back what has not started');
    const idle = this.until(() => this.workers().every((worker) => !worker.busy));
    this.announce(); // no free thread, now that it drains
    await idle;
    // Results may still wait for a pool's window, or be lost with a connection, and nothing is
    // sent again once this host has gone. A pool stops a worker once it has the worker's exit,
    // which comes after all its results: wait for that, at most the longest `ackWait` of its pools.
    for (const worker of this.workers()) worker.giveBack();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.endpoint.longestLimit)));
    await Promise.race([this.until(() => this.served.size === 0), bound]);
    clearTimeout(timer);
    await this.stop();
  }

  /** Resolves once `done()` holds: checked now, and whenever a task ends or a worker goes. */
  private until(done: () => boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      this.drained = () => {
        if (done()) resolve();
      };
      this.drained();
    });
  }

  /** Stops at once: the threads end, the pools notice the loss. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.loopWatch) clearInterval(this.loopWatch);
    const workers = this.workers();
    this.served.clear();
    await Promise.all(workers.map((worker) => worker.terminate()));
    await this.endpoint.close();
  }
}

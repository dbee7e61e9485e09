import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, type NatsConnectOptions } from '../nats/client';
import { announceInterval, decode, encode, HostOp, Outbox, PoolOp, subjects, type ExitRecord, type WorkerSetupRecord } from '../nats/wire';
import { threadsTransport } from '../transport/threads';
import type { LoopWatch, RunObserver, WorkerExit, WorkerPort } from '../transport/transport';

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

/** Tasks a host hands its thread beyond those the thread runs at once. */
const handedAhead = 64;

/** A task of the pool's, and the observer its local thread reports to. */
interface HostedTask extends RunObserver<unknown> {
  readonly ticket: number;
}

/** One worker of a pool that this host serves, on a thread of its own. */
interface Served {
  readonly poolId: string;
  /** Where its records go: `looppool.<pool>.pool.<poolId>`. */
  readonly to: string;
  readonly wid: number;
  readonly index: number;
  readonly port: WorkerPort<unknown, unknown>;
  /** Tasks not yet handed to the thread (at most twice `concurrency` are), by the pool's ticket. */
  readonly queue: Map<number, unknown>;
  /** Tasks handed to the thread: the pool's ticket → the thread's. */
  readonly handed: Map<number, number>;
  readonly concurrency: number;
  /** `blockingThreshold` of its pool, if watched; and whether the host last said the loop was blocked. */
  readonly blockingThreshold: number | undefined;
  wasBlocked: boolean;
}

/**
 * The host side of `looppool/nats`: offers `threads` worker threads to the pool named
 * `pool`, runs each worker a pool gives it on one of them, with the module named on the
 * command line and nothing else, and relays tasks and results. See docs/cluster.md.
 */
export class ClusterHost {
  private readonly hostId = randomBytes(8).toString('hex');
  private readonly label = `${hostname()}:${process.pid}`;
  private readonly subjects;
  private readonly served = new Map<string, Served>();
  /** When each pool was last heard from, and how long it may stay silent. */
  private readonly pools = new Map<string, { lastSeen: number; ackWait: number }>();
  private readonly outbox: Outbox;
  private timer: NodeJS.Timeout | undefined;
  private draining: (() => void) | undefined;
  private stopping = false;
  private loopWatch: NodeJS.Timeout | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: ClusterHostOptions,
  ) {
    this.subjects = subjects(options.pool);
    this.outbox = new Outbox(
      [this.hostId],
      (subject, data) => nc.publish(subject, data),
      (subject, record, reason) => this.unsendable(subject, record, reason),
    );
  }

  /** Connects and starts serving; rejects with a `ClusterError` if NATS cannot be reached. */
  static async start(options: ClusterHostOptions): Promise<ClusterHost> {
    const nc = await connectNats(options, `looppool-worker ${options.pool}`);
    const host = new ClusterHost(nc, options);
    host.listen();
    return host;
  }

  private get free(): number {
    return this.draining || this.stopping ? 0 : this.options.threads - this.served.size;
  }

  private listen(): void {
    const { nc, subjects } = this;
    nc.subscribe(subjects.discover, { callback: () => this.announce() });
    nc.subscribe(subjects.host(this.hostId), { callback: (_error, message) => this.received(message.data) });
    this.timer = setInterval(() => this.tick(), announceInterval);
    this.announce();
    this.options.log(
      `looppool-worker ${this.label}: serving pool ${this.options.pool} with ${this.options.threads} thread(s) of ${this.options.modulePath}`,
    );
  }

  private announce(): void {
    // One record, no header: the announcement names its host itself.
    this.nc.publish(this.subjects.hosts, encode([[this.hostId, this.free, this.options.threads, this.label]]));
  }

  private received(data: Uint8Array): void {
    const records = decode(data);
    const [poolId] = (records.shift() ?? []) as [string?];
    if (typeof poolId !== 'string') return;
    const known = this.pools.get(poolId);
    if (known) known.lastSeen = performance.now();
    for (const record of records) this.handle(poolId, record);
  }

  private handle(poolId: string, record: unknown[]): void {
    const [op, wid] = record as [number, number];
    if (op === PoolOp.heartbeat) {
      this.pools.set(poolId, { lastSeen: performance.now(), ackWait: Number(record[1]) || 3_000 });
      return;
    }
    if (op === PoolOp.setup) return this.setup(poolId, wid, record[2] as number, record[3] as WorkerSetupRecord);
    const served = this.served.get(`${poolId}:${wid}`);
    if (!served) return;
    switch (op) {
      case PoolOp.run:
        served.queue.set(record[2] as number, record[3]);
        return this.handOn(served);
      case PoolOp.cancel: {
        const ticket = record[2] as number;
        if (served.queue.delete(ticket)) return;
        const local = served.handed.get(ticket);
        if (local === undefined) return;
        served.handed.delete(ticket);
        served.port.cancel(local);
        return this.handOn(served);
      }
      case PoolOp.stop:
        return this.release(served, 'stopped by its pool');
      case PoolOp.kill:
        return served.port.kill();
      case PoolOp.ping: {
        const probe = (served.port as Partial<{ probe(answered: () => void): void }>).probe;
        if (probe) probe.call(served.port, () => this.reply(served, [HostOp.pong, wid, record[2], 0]));
        else this.reply(served, [HostOp.pong, wid, record[2], 0]);
        return;
      }
      case PoolOp.sample: {
        const sample = (served.port as Partial<{ sample(): Promise<unknown> }>).sample;
        void (sample ? sample.call(served.port) : Promise.resolve(undefined)).then((figures) =>
          this.reply(served, [HostOp.sampled, wid, record[2], figures]),
        );
        return;
      }
    }
  }

  private setup(poolId: string, wid: number, index: number, setup: WorkerSetupRecord): void {
    const key = `${poolId}:${wid}`;
    if (this.served.has(key)) return;
    const to = this.subjects.pool(poolId);
    if (this.free <= 0) {
      this.outbox.add(to, [HostOp.refused, wid]);
      return;
    }
    if (!this.pools.has(poolId)) this.pools.set(poolId, { lastSeen: performance.now(), ackWait: 3_000 });
    const name = `${setup.name}#${index}`;
    let served: Served | undefined;
    const port = threadsTransport<unknown, unknown>(this.options.modulePath, {
      workerData: setup.workerData,
      concurrency: setup.concurrency,
      gracePeriod: setup.gracePeriod,
      blockingThreshold: setup.blockingThreshold,
      taskTimeout: setup.taskTimeout,
    })(index, {
      emitted: (value) => this.outbox.add(to, [HostOp.emitted, wid, value]),
      unsendable: (reason) => this.outbox.add(to, [HostOp.unsendable, wid, reason]),
      exited: (exit) => {
        if (served) this.exited(served, exit);
        else queueMicrotask(() => served && this.exited(served, exit));
      },
    });
    served = {
      poolId,
      to,
      wid,
      index,
      port,
      queue: new Map(),
      handed: new Map(),
      concurrency: setup.concurrency,
      blockingThreshold: setup.blockingThreshold,
      wasBlocked: false,
    };
    if (setup.blockingThreshold !== undefined) this.watchLoops();
    this.served.set(key, served);
    port.ready.then(
      () => {
        if (this.served.get(key) !== served) return;
        this.outbox.add(to, [HostOp.ready, wid]);
        this.options.log(`looppool-worker ${this.label}: serving worker ${index} of pool ${this.options.pool} (${name})`);
      },
      () => {}, // reported by exited
    );
  }

  /**
   * With `blockingThreshold`, tells each pool every {@link loopWatchInterval} ms which of its
   * threads has a loop blocked for half the threshold or more (and by which task), and when it
   * turns again: the pool raises `LoopBlockedWarning` as for a local thread.
   */
  private watchLoops(): void {
    if (this.loopWatch) return;
    this.loopWatch = setInterval(() => {
      let watched = false;
      for (const served of this.served.values()) {
        if (served.blockingThreshold === undefined) continue;
        watched = true;
        const blocked = (served.port as Partial<LoopWatch<unknown>>).blocked?.call(served.port);
        if (blocked && blocked.ms >= served.blockingThreshold / 2) {
          served.wasBlocked = true;
          this.reply(served, [HostOp.blocked, served.wid, blocked.ms, (blocked.observer as HostedTask | undefined)?.ticket ?? 0]);
        } else if (served.wasBlocked) {
          served.wasBlocked = false;
          this.reply(served, [HostOp.blocked, served.wid, 0, 0]);
        }
      }
      if (!watched) {
        clearInterval(this.loopWatch);
        this.loopWatch = undefined;
      }
    }, loopWatchInterval);
  }

  /**
   * Hands queued tasks to the thread, up to {@link handedAhead} beyond its concurrency, so that
   * the thread never waits for the host between tiny tasks; none while the host drains (what
   * it has not handed over, it gives back).
   */
  private handOn(served: Served): void {
    if (this.draining) return;
    const limit = served.concurrency + handedAhead;
    for (const [ticket, task] of served.queue) {
      if (served.handed.size >= limit) return;
      served.queue.delete(ticket);
      served.handed.set(ticket, served.port.run(task, this.observer(served, ticket)));
    }
  }

  private observer(served: Served, ticket: number): HostedTask {
    const { to, wid } = served;
    const ended = (): void => {
      if (served.handed.delete(ticket)) {
        this.handOn(served);
        this.draining?.();
      }
    };
    return {
      ticket,
      started: () => this.outbox.add(to, [HostOp.started, wid, ticket]),
      next: (value) => this.outbox.add(to, [HostOp.next, wid, ticket, value]),
      complete: () => {
        ended();
        this.outbox.add(to, [HostOp.complete, wid, ticket]);
      },
      error: (failure) => {
        ended();
        this.outbox.add(to, [HostOp.error, wid, ticket, failure]);
      },
    };
  }

  /** The thread ended: tell the pool what ran, and free the thread. */
  private exited(served: Served, exit: WorkerExit<unknown>): void {
    if (this.served.get(`${served.poolId}:${served.wid}`) !== served) return;
    this.served.delete(`${served.poolId}:${served.wid}`);
    const tasks: Array<readonly [number, boolean | undefined, boolean | undefined]> = exit.tasks.map((task) => [
      (task.observer as HostedTask).ticket,
      task.started,
      task.blocking,
    ]);
    for (const ticket of served.queue.keys()) tasks.push([ticket, false, false]);
    const record: ExitRecord = {
      kind: exit.kind,
      reason: exit.reason,
      crash: exit.crash,
      exitCode: exit.exitCode,
      error: exit.error,
      tasks,
    };
    this.outbox.add(served.to, exit.kind === 'load' ? [HostOp.failed, served.wid, exit.reason, exit.error] : [HostOp.exited, served.wid, record]);
    this.options.log(`looppool-worker ${this.label}: worker ${served.index} of pool ${this.options.pool} ended: ${exit.reason}`);
    this.draining?.();
  }

  /** Stops a worker the pool no longer wants (or whose pool went silent). */
  private release(served: Served, why: string): void {
    this.served.delete(`${served.poolId}:${served.wid}`);
    void served.port.terminate();
    this.options.log(`looppool-worker ${this.label}: stopped worker ${served.index} of pool ${this.options.pool}: ${why}`);
    this.draining?.();
  }

  private reply(served: Served, record: unknown[]): void {
    this.outbox.add(served.to, record);
  }

  private tick(): void {
    this.announce();
    const now = performance.now();
    for (const [poolId, pool] of this.pools) {
      if (now - pool.lastSeen <= pool.ackWait) continue;
      this.pools.delete(poolId);
      for (const served of [...this.served.values()]) {
        if (served.poolId === poolId) this.release(served, `its pool was not heard from for ${pool.ackWait} ms`);
      }
    }
  }

  /** A result that cannot be encoded fails its task; an emitted value is dropped with a word to the pool. */
  private unsendable(subject: string, record: unknown[], reason: string): void {
    const [op, wid, ticket] = record as [number, number, number];
    if (op === HostOp.next) {
      this.outbox.add(subject, [HostOp.error, wid, ticket, { kind: 'unserializable', subject: 'result', reason }]);
      for (const served of this.served.values()) {
        const local = served.wid === wid && subject === served.to ? served.handed.get(ticket) : undefined;
        if (local === undefined) continue;
        served.handed.delete(ticket);
        served.port.cancel(local);
        this.handOn(served);
      }
    } else if (op === HostOp.emitted) {
      this.outbox.add(subject, [HostOp.unsendable, wid, reason]);
    }
  }

  /**
   * Stops gracefully: takes no more workers or tasks, lets the tasks its threads hold end,
   * gives back those it had not started (the pool runs them elsewhere), then stops the threads
   * and closes the connection.
   */
  async drain(): Promise<void> {
    if (this.draining || this.stopping) return;
    this.options.log(`looppool-worker ${this.label}: stopping: finishing what runs, giving back what has not started`);
    await new Promise<void>((resolve) => {
      this.draining = () => {
        for (const served of this.served.values()) if (served.handed.size > 0) return;
        resolve();
      };
      this.announce();
      this.draining();
    });
    for (const served of [...this.served.values()]) {
      const tasks = [...served.queue.keys()].map((ticket) => [ticket, false, false] as const);
      this.reply(served, [
        HostOp.exited,
        served.wid,
        { kind: 'crashed', reason: 'its host stopped', crash: 'host lost', exitCode: 0, error: undefined, tasks } satisfies ExitRecord,
      ]);
    }
    await this.stop();
  }

  /** Stops at once: the threads end, the pools notice the loss. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.loopWatch) clearInterval(this.loopWatch);
    this.outbox.flush();
    const ports = [...this.served.values()].map((served) => served.port);
    this.served.clear();
    await Promise.all(ports.map((port) => port.terminate()));
    await this.nc.drain().catch(() => this.nc.close());
  }
}

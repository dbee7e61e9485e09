import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { PortListener, PortFactory } from '../transport/transport';
import { connectNats, watchConnection, type NatsConnectOptions } from './client';
import { headerLength, Links, retainLimit } from './links';
import type { HubLink, HubPort } from './link';
import { NatsPort } from './port';
import { LoopClock } from './loopClock';
import { defaultMaxPayload, Reassembly } from './pieces';
import { ClusterError, MessagesLostError } from '../errors';
import { announceInterval, decode, HostOp, PoolOp, Publisher, subjects, type Unsendable, type WorkerSetupRecord } from './wire';

/** How often (ms) the pool looks for hosts gone silent. */
const lossCheckInterval = 50;

/**
 * A host whose words have not all been handled for this long (ms) is out of reach: its
 * workers' clocks stop (see {@link HubPort.outOfReach}). A host that serves a pool sends it a
 * numbered heartbeat every {@link announceInterval} ms, so this is one heartbeat late by half
 * an interval; it is shorter than the default `gracePeriod` (1 s), so that a probe sent to a
 * host that went quiet is dropped before its grace runs out.
 */
const quietAfter = 1.5 * announceInterval;

/** What the pool knows of one host that serves it. */
export interface HostEntry {
  readonly id: string;
  /** Where this pool sends the host's records: `looppool.<pool>.host.<id>`. */
  readonly subject: string;
  /** What the host prints of itself: `hostname:pid`. */
  label: string;
  /** Free threads, as the host last announced them, less the workers given to it since. */
  free: number;
  /** When the pool last heard from the host (ms, `performance.now()`). */
  lastSeen: number;
  /** When the pool last handled a numbered message of the host in order (ms, `performance.now()`): all it said before is in. */
  lastWord: number;
  /**
   * Whether the host's workers are in reach: the pool is connected, and has handled the host's
   * words within {@link quietAfter}. Its ports are told when it changes.
   */
  inReach: boolean;
  /** Workers of this pool the host serves or is starting (each in {@link Hub.hostOf} too). */
  readonly ports: Set<HubPort>;
}

/** What one pool's hub needs. */
export interface HubOptions extends NatsConnectOptions {
  readonly pool: string;
  readonly ackWait: number;
}

/**
 * One pool's side of the cluster: its NATS connection, the hosts it has heard of, and which
 * host serves which of its workers, of which it is the only owner (a port names its worker by
 * `wid` and asks the hub to send). A worker waits until some host has a free thread; a host
 * not heard from within `ackWait` is lost, and its workers end with it (the engine then
 * decides each task's fate and asks for replacements, which go to the hosts still there).
 * The connection opens with the first worker and closes when the last one is stopped.
 */
export class Hub implements HubLink {
  readonly poolId = randomBytes(8).toString('hex');
  private readonly subjects;
  private connection: Promise<NatsConnection> | undefined;
  private nc: NatsConnection | undefined;
  private failure: Error | undefined;
  private readonly hosts = new Map<string, HostEntry>();
  /** The pool's workers, by wid, from their start until they end or are stopped. */
  private readonly ports = new Map<number, HubPort>();
  /** The host each worker was given, by wid; a worker waiting for one has none. */
  private readonly hostOf = new Map<number, HostEntry>();
  /** Workers waiting for a host with a free thread, in the order they asked. */
  private readonly waiting: HubPort[] = [];
  private lastWid = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastBeat = 0;
  private readonly outbox: Publisher;
  /** How late each {@link tick} runs (this loop blocked). */
  private readonly clock = new LoopClock(lossCheckInterval);
  /** Messages from hosts that come in pieces, being put together. */
  private readonly pieces = new Reassembly();
  /** Each host's messages numbered, kept until it has them, and sent again when it did not get them. */
  private readonly links: Links;
  /** Set while the connection is down and the client dials again: no host's silence counts then. */
  private offline = false;

  constructor(
    private readonly options: HubOptions,
    readonly setup: WorkerSetupRecord,
  ) {
    this.subjects = subjects(options.pool);
    const maxPayload = (): number => this.nc?.info?.max_payload ?? defaultMaxPayload;
    this.links = new Links(this.poolId, (subject, data) => this.nc?.publish(subject, data), maxPayload, (subject) => this.broken(subject));
    this.outbox = new Publisher(this.links, (_subject, record, why) => this.unsendable(record, why), maxPayload);
  }

  get ackWait(): number {
    return this.options.ackWait;
  }

  /** The transport the engine calls for each worker it starts. */
  transport<T, R>(): PortFactory<T, R> {
    return (index: number, listener: PortListener<R>) => {
      const port = new NatsPort<T, R>(this, ++this.lastWid, index, listener);
      this.attach(port);
      return port;
    };
  }

  labelOf(wid: number): string | undefined {
    return this.hostOf.get(wid)?.label;
  }

  send(wid: number, op: number, a?: unknown, b?: unknown): boolean {
    const host = this.hostOf.get(wid);
    if (!host) return false;
    this.outbox.add(host.subject, op, wid, a, b);
    return true;
  }

  detach(wid: number, stop: boolean): Promise<void> {
    const port = this.ports.get(wid);
    if (!port) return Promise.resolve();
    if (stop) this.send(wid, PoolOp.stop);
    this.release(port);
    this.ports.delete(wid);
    return this.ports.size === 0 ? this.close() : Promise.resolve();
  }

  /** The worker's host refused it: its threads are taken (it has none free, whatever it said before); give the worker to another. */
  refused(wid: number): void {
    const port = this.ports.get(wid);
    if (!port) return;
    const host = this.hostOf.get(wid);
    this.release(port);
    if (host) host.free = 0;
    this.waiting.push(port);
    this.assignWaiting();
    this.discover();
  }

  /** The worker has no host, and waits for none. */
  private release(port: HubPort): void {
    const waiting = this.waiting.indexOf(port);
    if (waiting >= 0) this.waiting.splice(waiting, 1);
    this.hostOf.get(port.wid)?.ports.delete(port);
    this.hostOf.delete(port.wid);
  }

  private attach(port: HubPort): void {
    this.ports.set(port.wid, port);
    this.waiting.push(port);
    if (this.failure) {
      const failure = this.failure;
      queueMicrotask(() => port.unreachable(failure));
      return;
    }
    if (!this.connection) this.connect();
    else if (this.nc) this.assignWaiting();
  }

  private connect(): void {
    this.connection = connectNats(this.options, `looppool pool ${this.options.pool}`);
    this.connection.then(
      (nc) => {
        this.nc = nc;
        if (this.ports.size === 0) return void this.close();
        nc.subscribe(this.subjects.hosts, { callback: (_error, message) => this.announced(message.data) });
        nc.subscribe(this.subjects.pool(this.poolId), { callback: (_error, message) => this.received(message.data) });
        this.timer = setInterval(() => this.tick(), lossCheckInterval);
        watchConnection(nc, { disconnected: () => this.disconnected(), reconnected: () => this.reconnected() });
        this.discover();
      },
      (error: Error) => {
        this.failure = error;
        for (const port of [...this.ports.values()]) port.unreachable(error);
      },
    );
  }

  private close(): Promise<void> {
    this.outbox.flush();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.hosts.clear();
    const nc = this.nc;
    this.nc = undefined;
    this.connection = undefined;
    this.failure = undefined;
    return nc ? nc.drain().catch(() => nc.close()) : Promise.resolve();
  }

  private discover(): void {
    this.nc?.publish(this.subjects.discover, new Uint8Array());
  }

  /** A host's announcement: `[hostId, free, threads, label]`. */
  private announced(data: Uint8Array): void {
    const [record] = decode(data);
    if (!Array.isArray(record)) return;
    const [id, free, , label] = record as [string, number, number, string];
    let host = this.hosts.get(id);
    if (!host) {
      const entry = { id, subject: this.subjects.host(id), label, free: 0, lastSeen: 0, lastWord: performance.now(), inReach: true, ports: new Set<HubPort>() };
      this.hosts.set(id, (host = entry));
    }
    host.label = label;
    host.free = free - [...host.ports].filter((port) => !port.isServed).length;
    host.lastSeen = performance.now();
    this.assignWaiting();
  }

  /** A batch from a host: its id, then records about this pool's workers. */
  private received(data: Uint8Array): void {
    const whole = this.pieces.accept(data);
    if (!whole) return;
    const batch = decode(whole);
    if (typeof batch[0] !== 'string') return;
    const host = this.hosts.get(batch[0]);
    if (host) host.lastSeen = performance.now();
    if (!this.links.accept(host?.subject ?? this.subjects.host(batch[0]), batch)) return;
    if (host) this.heard(host);
    for (let at = headerLength; at + 4 <= batch.length; at += 4) {
      const op = batch[at] as number;
      const wid = batch[at + 1] as number;
      if (op === HostOp.heartbeat) continue;
      const port = this.ports.get(wid);
      if (port && host && this.hostOf.get(wid) === host) port.receive(op, batch[at + 2], batch[at + 3]);
      else if (host && op !== HostOp.exited) this.outbox.add(host.subject, PoolOp.stop, wid); // a worker given up: stop it there
    }
  }

  /** Gives waiting workers to hosts with free threads, the freest host first. */
  private assignWaiting(): void {
    if (!this.nc) return;
    while (this.waiting.length > 0) {
      let best: HostEntry | undefined;
      for (const host of this.hosts.values()) if (host.free > 0 && (!best || host.free > best.free)) best = host;
      if (!best) return;
      const port = this.waiting.shift()!;
      best.free--;
      if (best.ports.size === 0) {
        // The host heartbeats this pool only while it serves it: its quiet counts from now.
        best.lastWord = performance.now();
        best.inReach = !this.offline;
      }
      best.ports.add(port);
      this.hostOf.set(port.wid, best);
      port.assigned();
      if (!best.inReach) port.outOfReach(performance.now() - best.lastWord);
    }
  }

  /**
   * Ends the workers of hosts silent for `ackWait` (checked every {@link lossCheckInterval} ms,
   * so a loss is noticed between `ackWait` less that interval and `ackWait`), and, every
   * {@link announceInterval} ms, tells each host in use that the pool is alive.
   */
  private tick(): void {
    const now = performance.now();
    const late = this.clock.lateness();
    const beat = now - this.lastBeat >= announceInterval;
    if (beat) this.lastBeat = now;
    for (const host of [...this.hosts.values()]) {
      host.lastSeen += late; // what the host sent while this loop was blocked waits unread: not its silence
      host.lastWord += late;
      if (this.offline) host.lastSeen = now; // the pool's own outage is not the host's silence
      if (host.inReach && host.ports.size > 0 && now - host.lastWord > quietAfter) this.unreached(host);
      // Less one check interval: the loss is then noticed at most `ackWait` after the host went silent.
      if (now - host.lastSeen <= this.options.ackWait - lossCheckInterval) {
        if (beat && host.ports.size > 0) this.outbox.add(host.subject, PoolOp.heartbeat, 0, this.options.ackWait);
        continue;
      }
      this.forgetHost(host);
      const why = `host ${host.label} was not heard from for ${this.options.ackWait} ms (ackWait)`;
      for (const port of [...host.ports]) port.lost(new ClusterError(why));
    }
    if (beat && this.waiting.length > 0) this.discover();
  }

  private forgetHost(host: HostEntry, link = true): void {
    this.hosts.delete(host.id);
    this.pieces.forget(host.id);
    if (link) this.links.forget(host.subject);
  }

  /** The connection dropped: no host is in reach until it is heard again, and no host's silence counts until the connection is back. */
  private disconnected(): void {
    this.offline = true;
    for (const host of this.hosts.values()) if (host.inReach) this.unreached(host);
  }

  /** The host's workers are out of reach: their clocks stop, counted from the host's last word. */
  private unreached(host: HostEntry): void {
    host.inReach = false;
    const silentMs = performance.now() - host.lastWord;
    for (const port of [...host.ports]) port.outOfReach(silentMs);
  }

  /** A numbered message of the host's was handled in order: everything it said before is in. Back in reach, while connected. */
  private heard(host: HostEntry): void {
    host.lastWord = performance.now();
    if (host.inReach || this.offline) return;
    host.inReach = true;
    for (const port of [...host.ports]) port.backInReach();
  }

  /**
   * The connection is back (to the same server or another): hosts get `ackWait` from now to be
   * heard again, and a heartbeat now shows each what it missed (see `links.ts`). Each stays out
   * of reach until its words are all in ({@link heard}).
   */
  private reconnected(): void {
    this.offline = false;
    const now = performance.now();
    for (const host of this.hosts.values()) {
      host.lastSeen = now;
      if (host.ports.size > 0) this.outbox.add(host.subject, PoolOp.heartbeat, 0, this.options.ackWait);
    }
  }

  /** The link to a host broke: messages were lost that it could not send again. Its workers end as lost. */
  private broken(subject: string): void {
    const host = [...this.hosts.values()].find((known) => known.subject === subject);
    if (!host) return;
    this.forgetHost(host, false);
    const error = new MessagesLostError(host.label, retainLimit);
    for (const port of [...host.ports]) port.lost(error);
  }

  /**
   * A task that cannot be encoded, or is too large, fails (its port tells the host to drop it);
   * a worker whose setup (its `workerData`) cannot go fails to load. Nothing goes in their place.
   */
  private unsendable(record: unknown[], why: Unsendable): undefined {
    const port = this.ports.get(record[1] as number);
    if (port && (record[0] === PoolOp.run || record[0] === PoolOp.runTraced)) port.unsendableTask(record[2] as number, why);
    if (port && record[0] === PoolOp.setup) port.unsendableSetup(why);
    return undefined;
  }
}

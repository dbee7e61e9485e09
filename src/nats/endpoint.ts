import type { NatsConnection } from '@nats-io/transport-node';
import { headerLength, Links } from './links';
import { defaultMaxPayload, Reassembly } from './pieces';
import { decode, Publisher, type Unsendable } from './wire';

/** Lateness of a check below this (ms) is the scheduling jitter of a busy machine, not a blocked loop. */
const blockedAfter = 250;

/** What an {@link Endpoint} tells its owner: a pool's hub, or a host. */
export interface EndpointOwner {
  /** One record `[op, wid, a, b]` from `peer`: each once, in order. */
  record(peer: string, op: number, wid: number, a: unknown, b: unknown): void;
  /** The link to `peer` broke (messages lost that could not be sent again): the endpoint has forgotten it. */
  broken(peer: string): void;
  /** A record for `peer` cannot be encoded or is too large: what goes in its place, if anything (see {@link Publisher}). */
  unsendable(peer: string, record: unknown[], why: Unsendable): unknown[] | undefined;
  /**
   * Tells each peer in use that this side is alive: numbered, a heartbeat shows a peer a lost
   * last message (see `links.ts`). The endpoint calls it when the connection is back.
   */
  heartbeat(): void;
  /** A numbered message of `peer` was handled in order: everything it said before is in. */
  accepted?(peer: string): void;
  /** The connection dropped; the client dials again, and no peer's silence counts until it is back. */
  disconnected?(): void;
  /** What waited for `peer`'s window (see `links.ts`) has all been sent: `peer` reads again. */
  flowing?(peer: string): void;
}

/**
 * One side of the cluster, a pool's hub or a host, over one NATS connection: its records to
 * each peer, batched per turn ({@link Publisher}) and numbered until the peer has them
 * ({@link Links}); the records from each peer, put together from pieces ({@link Reassembly})
 * and handed to the owner once and in order; and how long each watched peer has been silent.
 * A peer is named by its id (hex), the last token of the subject this side publishes to it on.
 */
export class Endpoint {
  /** Records for the peers, batched per turn; `add(subject, op, wid, a, b)` queues one. */
  readonly outbox: Publisher;
  private nc: NatsConnection | undefined;
  private readonly links: Links;
  /** Messages from peers that come in pieces, being put together. */
  private readonly pieces = new Reassembly();
  /** The peers whose silence counts: when each was last heard from (`performance.now()`), and how long (ms) it may be silent. */
  private readonly watched = new Map<string, { heard: number; limit: number }>();
  /** When {@link silent} last ran. */
  private lastCheck = performance.now();
  /** How long (ms) this process's loop was blocked before the last {@link silent} (0 below {@link blockedAfter}). */
  private lastBlocked = 0;
  /** Set while the connection is down and the client dials again: no peer's silence counts then. */
  private down = false;

  /** @param checkInterval how often (ms) the owner calls {@link silent}. */
  constructor(
    id: string,
    private readonly subjectOf: (peer: string) => string,
    private readonly checkInterval: number,
    private readonly owner: EndpointOwner,
  ) {
    const maxPayload = (): number => this.nc?.info?.max_payload ?? defaultMaxPayload;
    this.links = new Links(
      id,
      (subject, data) => this.nc?.publish(subject, data),
      maxPayload,
      (subject) => this.broke(peerOf(subject)),
      (subject) => owner.flowing?.(peerOf(subject)),
    );
    this.outbox = new Publisher(this.links, (subject, record, why) => owner.unsendable(peerOf(subject), record, why), maxPayload);
  }

  /** Whether a connection is open. */
  get isOpen(): boolean {
    return this.nc !== undefined;
  }

  /** Whether the connection is down while the client dials again. */
  get offline(): boolean {
    return this.down;
  }

  /** How long (ms) this process's loop was blocked before the last {@link silent}: not a peer's silence. */
  get blocked(): number {
    return this.lastBlocked;
  }

  /** Starts using `nc`: reads what comes to `inbox`, and follows the connection's outages until it closes. */
  open(nc: NatsConnection, inbox: string): void {
    this.nc = nc;
    this.lastCheck = performance.now(); // the time it was closed (or connecting) is no blocked loop
    this.down = false; // it may have closed while down
    nc.subscribe(inbox, { callback: (_error, message) => this.receive(message.data) });
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') {
          this.down = true;
          this.owner.disconnected?.();
        } else if (status.type === 'reconnect') this.reconnected();
      }
    })().catch(() => undefined);
  }

  /** Publishes `data` as it is: not numbered, not batched (an announcement). */
  publish(subject: string, data: Uint8Array): void {
    this.nc?.publish(subject, data);
  }

  /** `peer` was heard from now; it may stay silent for `limit` ms from now on. */
  watch(peer: string, limit: number): void {
    this.watched.set(peer, { heard: performance.now(), limit });
  }

  /** The longest silence (ms) a watched peer may keep; 0 while none is watched. */
  get longestLimit(): number {
    let longest = 0;
    for (const { limit } of this.watched.values()) longest = Math.max(longest, limit);
    return longest;
  }

  /** Whether `peer` is watched. */
  watches(peer: string): boolean {
    return this.watched.has(peer);
  }

  /**
   * Whether records for the peer this side publishes to on `subject` wait at this side because
   * the peer has not acknowledged a window of earlier ones (see `links.ts`). By subject, which
   * the caller keeps: a host asks it for each task it hands its thread.
   */
  congested(subject: string): boolean {
    return this.links.congested(subject);
  }

  /**
   * The watched peers silent past their limit, with their limit; it forgets them. Time this
   * process's own loop was blocked is not their silence: what they sent waited unread in the
   * socket meanwhile (a host that spent 3 s encoding 40 MB of results once counted its pool
   * silent that way); nor is time the connection was down. It also tells each peer whose
   * window is full how far this side has sent ({@link Links.probe}).
   * @param release send what waits for a silent peer's window before forgetting it (a host: the
   *   results of tasks that ended, which its exit report no longer lists; a pool does not, since
   *   it counts the host lost and retries what it had sent it).
   */
  silent(release = false): Array<readonly [peer: string, limit: number]> {
    this.links.probe();
    const now = performance.now();
    const late = now - this.lastCheck - this.checkInterval;
    const blocked = (this.lastBlocked = late >= blockedAfter ? late : 0);
    this.lastCheck = now;
    const silent: Array<readonly [string, number]> = [];
    for (const [peer, watched] of this.watched) {
      watched.heard = this.down ? now : watched.heard + blocked;
      if (now - watched.heard > watched.limit) silent.push([peer, watched.limit]);
    }
    for (const [peer] of silent) {
      if (release) this.links.release(this.subjectOf(peer));
      this.forget(peer);
    }
    return silent;
  }

  /** Forgets `peer` (it was lost): a later link to it starts afresh. */
  forget(peer: string): void {
    this.watched.delete(peer);
    this.pieces.forget(peer);
    this.links.forget(this.subjectOf(peer));
  }

  /** Publishes what waits (past the peers' windows too), forgets the peers' silence, and closes the connection. */
  close(): Promise<void> {
    this.outbox.flush();
    this.links.release();
    this.watched.clear();
    const nc = this.nc;
    this.nc = undefined;
    return nc ? nc.drain().catch(() => nc.close()) : Promise.resolve();
  }

  /** A message from a peer: its records once whole, new and in order (see `links.ts`). */
  private receive(data: Uint8Array): void {
    const whole = this.pieces.accept(data);
    if (!whole) return;
    const message = decode(whole);
    const peer = message[0];
    if (typeof peer !== 'string') return;
    const watched = this.watched.get(peer);
    if (watched) watched.heard = performance.now();
    if (!this.links.accept(this.subjectOf(peer), message, whole.length)) return;
    this.owner.accepted?.(peer);
    for (let at = headerLength; at + 4 <= message.length; at += 4) {
      this.owner.record(peer, message[at] as number, message[at + 1] as number, message[at + 2], message[at + 3]);
    }
  }

  /** The connection is back (to the same server or another): every watched peer gets its whole limit from now. */
  private reconnected(): void {
    this.down = false;
    const now = performance.now();
    for (const watched of this.watched.values()) watched.heard = now;
    this.owner.heartbeat();
  }

  /** The link to `peer` broke; {@link Links} has already reset its side. */
  private broke(peer: string): void {
    this.watched.delete(peer);
    this.pieces.forget(peer);
    this.owner.broken(peer);
  }
}

/** The peer a subject leads to: its last token. */
function peerOf(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

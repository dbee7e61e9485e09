import { serialize } from 'node:v8';
import { Queue } from '../engine/queue';
import { clusterMessageLimit, toPieces } from './pieces';

/**
 * Exactly-once delivery between a pool and a host over core NATS, which is at most once: a
 * message in the server when it dies, in a socket when the connection drops, or published
 * before the other side has subscribed again, is lost. Every message a side publishes to a
 * peer (the peer named by the subject it publishes to) carries a header:
 *
 * ```
 * [sender, stream, seq, ackStream, ack, ...records]
 * ```
 *
 * `stream` names the sender's numbering towards this peer (a new one after it forgot the
 * peer), `seq` counts its messages from 1, and `ack` says the sender has every message up to
 * `ack` of the peer's stream `ackStream`. The receiver handles a message only when it is the
 * next one: an older one is a duplicate and dropped; a later one shows a gap, is dropped too,
 * and the receiver asks the sender to send again from the first one missing (`resend`). The
 * sender keeps what it sent until the peer acknowledges it, at most {@link retainLimit} bytes
 * per peer; when it no longer has what is asked for, or does not know the stream asked for
 * (it forgot the peer), the link is broken: it tells the peer (`reset`), and both forget each
 * other (the pool counts the host lost). Both sides send a numbered heartbeat every 500 ms,
 * so a lost last message shows as a gap within a heartbeat of the connection coming back.
 *
 * A side has at most {@link sendWindow} bytes sent to a peer and not acknowledged; what it
 * sends past that waits here, numbered and in order, and goes as acknowledgements come. So a
 * peer that does not read (a pool whose loop is busy for seconds) holds at most a window of
 * each sender's messages in the server, not all they produce (the server cuts a subscriber
 * whose pending bytes pass its `max_pending`, 64 MB by default, or whose socket does not take
 * them within `write_deadline`); and everything not acknowledged is kept, so that when the
 * server cuts the peer anyway, all it lost is sent again. A receiver acknowledges at once
 * (`ack`) once it has handled a quarter of the window since it last did, so a sender never
 * waits for a message of the peer's own to carry the acknowledgement; a sender whose next
 * message waits behind less than that, which the receiver would not acknowledge by itself,
 * asks at once (`sent`, below), and the receiver acknowledges. While messages wait, a
 * numbered heartbeat cannot show a lost last message (it waits behind them): the sender then
 * says how far it has sent (`sent`, see {@link Links.probe}), and the peer asks for the gap.
 * The owner is told when what waited for a peer has all gone (`flowing`): a host hands its
 * threads no new task meanwhile, so its workers wait with their results.
 *
 * Control messages (`resend`, `reset`, `ack`, `sent`) have `seq` 0: they are not numbered, not
 * kept, not held by the window, and a lost one is asked again at the next gap or probe.
 */

/** Control records, after a header whose `seq` is 0. */
const LinkOp = {
  /** `[resend, stream, from]`: send your stream `stream` again from message `from`. */
  resend: 1,
  /**
   * `[reset, stream]`: your stream `stream` is gone here (forgotten, or what you asked for no
   * longer kept): forget me, as I forget you. A reset of a stream the receiver has already
   * replaced is late (a message of the old one held in the network) and changes nothing;
   * `stream` 0 resets whatever stream the receiver has.
   */
  reset: 2,
  /** `[ack]`: nothing more than the header's acknowledgement. */
  ack: 3,
  /** `[sent, stream, last]`: my stream `stream` has sent up to message `last`; ask for what you miss. */
  sent: 4,
} as const;

/** Values before a message's first record. */
export const headerLength = 5;

/** Bytes of sent messages kept per peer until it acknowledges them. */
export const retainLimit = clusterMessageLimit;

/**
 * Bytes a side sends a peer ahead of its acknowledgement; the rest waits at the sender. Below
 * {@link retainLimit}, so everything unacknowledged is kept and can be sent again; small
 * against the server's default `max_pending` (64 MB), so that 16 hosts streaming to a pool
 * whose loop is blocked fill it only together. A message larger than the window goes alone.
 */
export const sendWindow = 4 * 1024 * 1024;

/** A gap asked about within this (ms) is not asked about again: what was asked is on its way. */
const askInterval = 250;

/** Every stream of this process gets a number above the last, so that a newer one is told from an older one. */
let lastStream = 0;

/** One numbered message to a peer. */
interface Numbered {
  readonly seq: number;
  readonly data: Uint8Array;
}

/** What this side sends to one peer. */
interface Outgoing {
  readonly stream: number;
  /** The `seq` of the next message. */
  next: number;
  /** Messages sent and not acknowledged, oldest first; at most `retain` bytes (and the newest). */
  readonly retained: Queue<Numbered>;
  /** Bytes of {@link retained}: what the peer has not acknowledged (at most the window, or one message). */
  bytes: number;
  /**
   * Messages numbered and not sent yet: the window is full. Not bounded here: by the owner,
   * which sends no more than it holds (a host: the results of the tasks it handed its threads,
   * at most `streamWindow` values of a stream; a pool: its tasks out).
   */
  readonly waiting: Queue<Numbered>;
  /** When this side last told the peer how far it has sent (`performance.now()`). */
  probed: number;
  /** The last `seq` this side told the peer of because a message stalled ({@link Links.stalled}): once per message sent, not at each message of the peer. */
  told: number;
}

/** What this side has received from one peer. */
interface Incoming {
  readonly stream: number;
  /** The `seq` of the next message to handle. */
  expected: number;
  /** Bytes handled since this side last acknowledged them to the peer. */
  unacked: number;
}

/** The links of one pool or host to each of its peers, by the subject it publishes to them on. */
export class Links {
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly incoming = new Map<string, Incoming>();
  /** The newest stream of each peer forgotten: its messages, late or sent again, are never handled (a reset answers them). One number per peer ever forgotten. */
  private readonly forgotten = new Map<string, number>();
  /** The last gap asked about per peer, and when (`performance.now()`), to ask once per {@link askInterval}. */
  private readonly asked = new Map<string, { readonly stream: number; readonly from: number; readonly at: number }>();

  /**
   * @param sender this side's id, the first value of every message.
   * @param publish publishes one NATS message; throws while the connection closes.
   * @param broken the link to the peer of `subject` is broken (lost messages that cannot be sent again): forget the peer
   *   (its workers), but not its link, which this class has already reset.
   * @param flowing what waited for the window of the peer of `subject` has all been sent.
   * @param retain bytes of sent messages kept per peer until it acknowledges them.
   * @param window bytes sent per peer ahead of its acknowledgement ({@link sendWindow}).
   */
  constructor(
    private readonly sender: string,
    private readonly publish: (subject: string, data: Uint8Array) => void,
    private readonly maxPayload: () => number,
    private readonly broken: (subject: string) => void,
    private readonly flowing: (subject: string) => void,
    private readonly retain = retainLimit,
    private readonly window = sendWindow,
  ) {}

  /** The header of the next message to the peer of `subject`. */
  header(subject: string): unknown[] {
    const out = this.out(subject);
    const incoming = this.incoming.get(subject);
    return [this.sender, out.stream, out.next, incoming?.stream ?? 0, incoming ? incoming.expected - 1 : 0];
  }

  /**
   * Publishes `data`, a message framed with {@link header}, and keeps it until the peer
   * acknowledges it; if the peer's window is full, it waits here until there is room.
   */
  send(subject: string, data: Uint8Array): void {
    const out = this.out(subject);
    const message = { seq: out.next++, data };
    if (out.waiting.length > 0 || !this.fits(out, data.length)) {
      out.waiting.push(message);
      return this.stalled(subject, out);
    }
    this.sendKept(subject, out, message);
    const incoming = this.incoming.get(subject);
    if (incoming) incoming.unacked = 0; // its header, made just now, acknowledged everything
  }

  /** Whether the peer of `subject` has messages of this side waiting for its window. */
  congested(subject: string): boolean {
    return (this.outgoing.get(subject)?.waiting.length ?? 0) > 0;
  }

  /**
   * Tells each peer that has messages waiting for its window how far this side has sent (at
   * most once per {@link askInterval}): a lost last message then shows as a gap, though no
   * numbered message can follow it until the peer acknowledges. The owner calls it every
   * check of its peers' silence.
   */
  probe(): void {
    const now = performance.now();
    for (const [subject, out] of this.outgoing) {
      if (out.waiting.length === 0 || now - out.probed < askInterval) continue;
      out.probed = now;
      this.sendControl(subject, LinkOp.sent, out.stream, out.next - out.waiting.length - 1);
    }
  }

  /**
   * Sends what waits for every peer (or only the peer of `subject`), whatever its window: this
   * side closes, or forgets the peer, and what it said last must go.
   */
  release(subject?: string): void {
    for (const [to, out] of this.outgoing) {
      if (subject === undefined || to === subject) while (out.waiting.length > 0) this.sendKept(to, out, out.waiting.shift()!);
    }
  }

  /**
   * A decoded message of `bytes` from the peer of `subject`.
   * @returns whether its records (from {@link headerLength} on) are to be handled now: false
   *   for a control message, a duplicate, or one after a gap.
   */
  accept(subject: string, message: readonly unknown[], bytes = 0): boolean {
    const handled = this.receive(subject, message, bytes);
    this.sendWaiting(subject); // after what a `resend` asked for: in order
    return handled;
  }

  private receive(subject: string, message: readonly unknown[], bytes: number): boolean {
    const [, stream, seq, ackStream, ack] = message as [string, number, number, number, number];
    this.acknowledged(subject, ackStream, ack);
    if (seq === 0) {
      this.control(subject, message);
      return false;
    }
    let incoming = this.incoming.get(subject);
    if (!incoming || stream > incoming.stream) {
      if (stream <= (this.forgotten.get(subject) ?? 0)) return this.ask(subject, stream, 0); // a stream forgotten: the peer must break too
      if (seq !== 1) return this.ask(subject, stream, 1);
      this.incoming.set(subject, (incoming = { stream, expected: 1, unacked: 0 }));
    }
    if (stream < incoming.stream || seq < incoming.expected) return false;
    if (seq > incoming.expected) return this.ask(subject, stream, incoming.expected);
    incoming.expected++;
    incoming.unacked += bytes;
    if (incoming.unacked >= this.window / 4) this.sendControl(subject, LinkOp.ack);
    return true;
  }

  /** Forgets the peer of `subject` (it was lost, or the link broke): a later link to it starts afresh. */
  forget(subject: string): void {
    const incoming = this.incoming.get(subject);
    if (incoming) this.forgotten.set(subject, incoming.stream);
    this.outgoing.delete(subject);
    this.incoming.delete(subject);
    this.asked.delete(subject);
  }

  /** Publishes `data` whole, or in pieces when it is past the server's `max_payload`. */
  private transmit(subject: string, data: Uint8Array): void {
    const maxPayload = this.maxPayload();
    try {
      if (data.length <= maxPayload) return this.publish(subject, data);
      for (const piece of toPieces(this.sender, data, maxPayload)) this.publish(subject, piece);
    } catch {
      // The connection is closing: what it carried is settled by the loss of the host or pool.
    }
  }

  private out(subject: string): Outgoing {
    let out = this.outgoing.get(subject);
    if (!out) {
      out = { stream: ++lastStream, next: 1, retained: new Queue(), bytes: 0, waiting: new Queue(), probed: -Infinity, told: 0 };
      this.outgoing.set(subject, out);
    }
    return out;
  }

  /** Whether a message of `bytes` fits in the peer's window now; one goes alone whatever its size. */
  private fits(out: Outgoing, bytes: number): boolean {
    return out.bytes === 0 || out.bytes + bytes <= this.window;
  }

  /** Publishes `message` and keeps it until the peer acknowledges it. */
  private sendKept(subject: string, out: Outgoing, message: Numbered): void {
    out.retained.push(message);
    out.bytes += message.data.length;
    while (out.bytes > this.retain && out.retained.length > 1) out.bytes -= out.retained.shift()!.data.length;
    this.transmit(subject, message.data);
  }

  /** Sends what waited for the window of the peer of `subject`, as far as it has room; tells the owner once nothing waits. */
  private sendWaiting(subject: string): void {
    const out = this.outgoing.get(subject);
    if (!out || out.waiting.length === 0) return;
    while (out.waiting.length > 0 && this.fits(out, out.waiting.peek()!.data.length)) this.sendKept(subject, out, out.waiting.shift()!);
    if (out.waiting.length === 0) this.flowing(subject);
    else this.stalled(subject, out);
  }

  /**
   * Messages wait for the window of the peer of `subject` behind less than a quarter of it not
   * acknowledged: the peer acknowledges by itself only each quarter it handles, so it may
   * never acknowledge these, and a message past three quarters of the window would wait for
   * the next {@link probe} (up to a check interval, each time). Tells the peer now how far this
   * side has sent: it acknowledges what it has, or asks for what it misses. Once per message
   * sent; a probe lost with the connection is repeated by {@link probe}.
   */
  private stalled(subject: string, out: Outgoing): void {
    const last = out.next - out.waiting.length - 1;
    if (out.bytes >= this.window / 4 || last <= out.told) return;
    out.told = last;
    this.sendControl(subject, LinkOp.sent, out.stream, last);
  }

  /** The peer has every message up to `ack` of stream `stream`: they need not be kept. */
  private acknowledged(subject: string, stream: number, ack: number): void {
    const out = this.outgoing.get(subject);
    if (!out || out.stream !== stream) return;
    while (out.retained.length > 0 && out.retained.peek()!.seq <= ack) out.bytes -= out.retained.shift()!.data.length;
  }

  /**
   * Asks the peer of `subject` to send its stream `stream` again from `from` (once per
   * {@link askInterval}); `from` 0: tells it to reset (this side forgot that stream).
   * @returns false
   */
  private ask(subject: string, stream: number, from: number): false {
    const now = performance.now();
    const last = this.asked.get(subject);
    if (last && last.stream === stream && last.from === from && now - last.at < askInterval) return false;
    this.asked.set(subject, { stream, from, at: now });
    if (from === 0) this.sendControl(subject, LinkOp.reset, stream);
    else this.sendControl(subject, LinkOp.resend, stream, from);
    return false;
  }

  private control(subject: string, message: readonly unknown[]): void {
    const op = message[headerLength];
    if (op === LinkOp.sent) return this.sentUpTo(subject, message[headerLength + 1] as number, message[headerLength + 2] as number);
    if (op === LinkOp.reset) {
      // After both sides gave each other up (a link blackholed past ackWait), the messages held
      // come once it heals, and each side resets the other's old stream: a reset of a stream
      // already replaced would break the new one, and lose the worker just given to the peer.
      const dropped = message[headerLength + 1];
      if (typeof dropped === 'number' && dropped !== 0 && dropped !== this.outgoing.get(subject)?.stream) return;
      // The peer forgot this side's stream: a new one starts. Its own stream, newer than what it
      // forgot, goes on: forgetting it too would make the peer break again, and again.
      this.outgoing.delete(subject);
      this.asked.delete(subject);
      return this.broken(subject);
    }
    if (op !== LinkOp.resend) return;
    const stream = message[headerLength + 1] as number;
    const from = message[headerLength + 2] as number;
    const out = this.outgoing.get(subject);
    const first = out ? (out.retained.peek()?.seq ?? out.waiting.peek()?.seq ?? out.next) : 0;
    if (!out || out.stream !== stream || from < first) {
      // What the peer misses is gone (past retainLimit), or the peer asks for a stream this side forgot.
      this.sendControl(subject, LinkOp.reset, this.incoming.get(subject)?.stream ?? 0);
      this.forget(subject);
      return this.broken(subject);
    }
    for (const sent of out.retained.toArray()) if (sent.seq >= from) this.transmit(subject, sent.data);
  }

  /**
   * The peer's stream `stream` has sent up to message `last` (a probe: its window is full):
   * asks for what this side misses of it, or else acknowledges, so that its window frees.
   */
  private sentUpTo(subject: string, stream: number, last: number): void {
    const incoming = this.incoming.get(subject);
    if (!incoming || stream > incoming.stream) {
      if (stream <= (this.forgotten.get(subject) ?? 0)) return void this.ask(subject, stream, 0);
      if (last >= 1) return void this.ask(subject, stream, 1);
    } else if (stream === incoming.stream && last >= incoming.expected) return void this.ask(subject, stream, incoming.expected);
    this.sendControl(subject, LinkOp.ack);
  }

  private sendControl(subject: string, ...record: unknown[]): void {
    const incoming = this.incoming.get(subject);
    if (incoming) incoming.unacked = 0;
    this.transmit(subject, serialize([this.sender, 0, 0, incoming?.stream ?? 0, incoming ? incoming.expected - 1 : 0, ...record]));
  }
}

import { deserialize } from 'node:v8';
import { Links } from '../src/nats/links';
import { Publisher } from '../src/nats/wire';

/**
 * The numbering of messages between a pool and a host (src/nats/links.ts), two sides wired
 * through a wire of the test's own that loses the messages it is told to: what is lost is sent
 * again and handled once, in order; what cannot be sent again breaks the link on both sides.
 * The same protocol under a real server restart: test/natsRestart.test.ts.
 */

interface Side {
  readonly links: Links;
  readonly outbox: Publisher;
  /** The records handled, `[op, wid, a]` each. */
  readonly handled: unknown[][];
  broken: number;
  /** How often what waited for the peer's window had all gone. */
  flowed: number;
}

function wired(retain?: number, window?: number) {
  /** Messages published and not yet delivered, in order: `[to, data]`. */
  const wire: Array<['a' | 'b', Uint8Array]> = [];
  const make = (name: 'a' | 'b', peer: 'a' | 'b'): Side => {
    const side: Side = {
      links: new Links(name, (_subject, data) => wire.push([peer, data]), () => 1024 * 1024, () => side.broken++, () => side.flowed++, retain, window),
      outbox: undefined as unknown as Publisher,
      handled: [],
      broken: 0,
      flowed: 0,
    };
    (side as { outbox: Publisher }).outbox = new Publisher(side.links, () => undefined, () => 1024 * 1024);
    return side;
  };
  const sides = { a: make('a', 'b'), b: make('b', 'a') };
  const receive = (to: 'a' | 'b', data: Uint8Array): void => {
    const side = sides[to];
    const message = deserialize(data) as unknown[];
    if (!side.links.accept(to === 'a' ? 'b' : 'a', message, data.length)) return;
    for (let at = 5; at + 4 <= message.length; at += 4) side.handled.push(message.slice(at, at + 3));
  };
  /** Sends `ops` from `from` as one message each (with `pad` characters more in each). */
  const sendPadded = (from: 'a' | 'b', pad: number, ...ops: number[]): void => {
    for (const op of ops) {
      sides[from].outbox.add(from === 'a' ? 'b' : 'a', op, 1, op, 'p'.repeat(pad));
      sides[from].outbox.flush();
    }
  };
  const send = (from: 'a' | 'b', ...ops: number[]): void => sendPadded(from, 0, ...ops);
  /** Delivers everything on the wire (and what that sends), but drops the messages whose position is in `lose`. */
  const deliver = (lose: number[] = []): void => {
    let position = 0;
    while (wire.length > 0) {
      const [to, data] = wire.shift()!;
      if (!lose.includes(position++)) receive(to, data);
    }
  };
  return { ...sides, send, sendPadded, deliver, wire };
}

const ops = (side: Side): unknown[] => side.handled.map((record) => record[0]);

describe('Links: numbered messages over an at-most-once wire', () => {
  test('messages lost in the middle are asked for at the next one, sent again, and handled once each, in order', () => {
    const { a, b, send, deliver } = wired();
    send('a', 1, 2, 3, 4, 5);
    deliver([1, 2]); // 2 and 3 lost; 4 shows the gap, b asks for 2 and on, a sends 2..5 again
    expect(ops(b)).toEqual([1, 2, 3, 4, 5]);
    send('a', 6);
    deliver();
    expect(ops(b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(a.broken + b.broken).toBe(0);
  });

  test('a lost last message shows at the next message (a heartbeat), however late', () => {
    const { b, send, deliver } = wired();
    send('a', 1, 2);
    deliver([1]);
    expect(ops(b)).toEqual([1]);
    send('a', 7); // the next heartbeat
    deliver();
    expect(ops(b)).toEqual([1, 2, 7]);
  });

  test('a duplicate is dropped', () => {
    const { b, send, deliver, wire } = wired();
    send('a', 1);
    wire.push(wire[0]!);
    deliver();
    expect(ops(b)).toEqual([1]);
  });

  test('what the peer acknowledged is no longer kept; what it did not is', () => {
    const { a, b, send, deliver } = wired();
    send('a', 1, 2, 3);
    deliver();
    send('b', 9); // carries b's ack of 1..3
    deliver();
    expect(ops(a)).toEqual([9]);
    send('a', 4);
    deliver([0]); // 4 lost; a keeps it
    send('a', 5);
    deliver();
    expect(ops(b)).toEqual([1, 2, 3, 4, 5]);
  });

  test('a message no longer kept (past the retained bytes) breaks the link on both sides', () => {
    const { a, b, send, deliver } = wired(1);
    send('a', 1, 2, 3);
    deliver([1]); // 2 lost, and a kept only 3
    expect(ops(b)).toEqual([1]);
    expect(a.broken).toBe(1);
    expect(b.broken).toBe(1);
    send('a', 4); // a new link: starts from 1 again
    deliver();
    expect(ops(b)).toEqual([1, 4]);
  });

  test('a side that forgot its peer (gave it up) handles nothing more of its old stream, even what was never acknowledged: the peer breaks, then both start afresh', () => {
    const { a, b, send, deliver } = wired();
    send('a', 1);
    deliver();
    b.links.forget('a');
    send('a', 2); // of a stream b forgot: b tells a to reset, and handles nothing of it (not 1 again)
    deliver();
    expect(ops(b)).toEqual([1]);
    expect(a.broken).toBe(1);
    expect(b.broken).toBe(0); // b gave a up itself
    send('a', 3);
    deliver();
    expect(ops(b)).toEqual([1, 3]);
  });
  // A link blackholed past ackWait: both sides give each other up, and when it heals, what was
  // held comes first. Without the stream named in a reset, the resets of those old streams broke
  // the new ones (read from the code: the pool would lose the worker it had just given the host).
  test('after both sides gave each other up, the old messages held in the network reset nothing: the new streams go on', () => {
    const { a, b, send, deliver } = wired();
    send('a', 1);
    send('b', 1);
    deliver();
    send('a', 2); // held in the network, on the old streams
    send('b', 2);
    a.links.forget('b'); // each gave the other up after ackWait
    b.links.forget('a');
    send('b', 3); // new streams: a worker given to the host, the host's report of what it stopped
    send('a', 3);
    deliver(); // the old 2s come first: each side resets the other's old stream, which is gone already
    expect(a.broken).toBe(0);
    expect(b.broken).toBe(0);
    send('b', 4);
    send('a', 4);
    deliver();
    expect(ops(a)).toEqual([1, 3, 4]);
    expect(ops(b)).toEqual([1, 3, 4]);
    expect(a.broken).toBe(0);
    expect(b.broken).toBe(0);
  });
  test('a side told to reset keeps its peer\'s newer stream: what the peer sends next is handled, lost messages of it too, not reset in turn (a reset storm broke each new worker of a pool)', () => {
    const { a, b, send, deliver } = wired();
    send('a', 1);
    send('b', 1);
    deliver();
    b.links.forget('a'); // b gave a up (a's words were lost for ackWait); a still hears b
    send('b', 2); // on b's new stream, and lost
    deliver([0]);
    send('a', 3); // of the stream b forgot: b tells a to reset
    deliver();
    expect(a.broken).toBe(1);
    send('b', 4);
    deliver();
    expect(ops(a)).toEqual([1, 2, 4]);
    expect(b.broken).toBe(0);
  });

  test('at most a window of bytes goes ahead of the peer\'s acknowledgement; the rest waits, in order, and goes as the peer acknowledges at once', () => {
    const { a, b, sendPadded, deliver, wire } = wired(undefined, 1_000);
    sendPadded('a', 400, 1, 2, 3, 4, 5);
    expect(wire.length).toBe(2); // 1 and 2 (about 430 bytes each); 3, 4 and 5 wait
    expect(a.links.congested('b')).toBe(true);
    deliver(); // b acknowledges each (past a quarter of the window): a sends what waits
    expect(ops(b)).toEqual([1, 2, 3, 4, 5]);
    expect(a.links.congested('b')).toBe(false);
    expect(a.flowed).toBe(1);
    expect(a.broken + b.broken).toBe(0);
  });

  test('a message larger than the window goes alone', () => {
    const { b, sendPadded, deliver, wire } = wired(undefined, 100);
    sendPadded('a', 400, 1, 2);
    expect(wire.length).toBe(1);
    deliver();
    expect(ops(b)).toEqual([1, 2]);
  });

  test('a lost last message while the window is full shows by a probe (a numbered heartbeat would wait behind the window), and is sent again', () => {
    const { a, b, sendPadded, deliver, wire } = wired(undefined, 500);
    sendPadded('a', 400, 1, 2); // 1 goes, 2 waits
    deliver([0]); // 1 lost: b has nothing to ask about, and a nothing it may send
    sendPadded('a', 0, 7); // a heartbeat: waits too
    expect(wire.length).toBe(0);
    a.links.probe(); // "sent up to 1": b asks for 1, a sends it again; b acknowledges, a sends 2 and 7
    deliver();
    expect(ops(b)).toEqual([1, 2, 7]);
    expect(a.links.congested('b')).toBe(false);
    expect(a.broken + b.broken).toBe(0);
  });

  test('a message that waits behind less than a quarter of the window (which the peer does not acknowledge by itself) asks the peer at once how far it has: it acknowledges, and the message goes without waiting for the next probe', () => {
    const { a, b, sendPadded, deliver, wire } = wired(undefined, 10_000);
    sendPadded('a', 1_000, 1); // below a quarter of the window: b does not acknowledge it by itself
    sendPadded('a', 10_000, 2); // waits (past three quarters of the window): a says "sent up to 1"
    expect(wire.length).toBe(2); // 1 and that probe, once
    deliver(); // b has 1: it acknowledges; a sends 2
    expect(ops(b)).toEqual([1, 2]);
    expect(a.links.congested('b')).toBe(false);
    expect(a.flowed).toBe(1);
  });

  test('a probe of a peer that has everything is answered by an acknowledgement: the window frees', () => {
    const { a, b, sendPadded, deliver, wire } = wired(undefined, 10_000);
    sendPadded('a', 1_000, 1);
    sendPadded('a', 10_000, 2); // waits; a asks at once (the test above), and that is lost
    deliver([1]);
    expect(ops(b)).toEqual([1]);
    expect(wire.length).toBe(0);
    a.links.probe(); // the periodic probe asks again
    deliver();
    expect(ops(b)).toEqual([1, 2]);
  });

  test('what waits goes at once, whatever the window, when the side closes (release)', () => {
    const { a, b, sendPadded, deliver, wire } = wired(undefined, 500);
    sendPadded('a', 400, 1, 2, 3);
    expect(wire.length).toBe(1);
    a.links.release();
    expect(wire.length).toBe(3);
    deliver();
    expect(ops(b)).toEqual([1, 2, 3]);
  });
});

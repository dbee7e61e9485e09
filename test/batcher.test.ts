import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Batcher } from '../src/transport/batcher';

/** Collects the messages that arrive on `port` until `count` triples have come. */
function receive(port: MessagePort, count: number): Promise<unknown[][]> {
  const messages: unknown[][] = [];
  let triples = 0;
  return new Promise((resolve) => {
    port.on('message', (message: unknown[]) => {
      messages.push(message);
      triples += message.length / 3;
      if (triples === count) resolve(messages);
    });
  });
}

const triples = (count: number, payload: (i: number) => unknown): unknown[] =>
  Array.from({ length: count }, (_, i) => [1, i, payload(i)]).flat();

describe('Batcher', () => {
  let channel: MessageChannel;
  beforeEach(() => (channel = new MessageChannel()));
  afterEach(() => {
    channel.port1.close();
    channel.port2.close();
  });

  it('sends many small messages in one postMessage', async () => {
    const arrived = receive(channel.port2, 100);
    new Batcher(channel.port1).post(triples(100, (i) => i), new Map(), () => {});
    const messages = await arrived;
    expect(messages).toHaveLength(1);
    expect(messages[0]).toEqual(triples(100, (i) => i));
  });

  it('splits large payloads into several messages once a batch has proved slow to clone, keeping their order', async () => {
    const batcher = new Batcher(channel.port1);
    const megabytes = (): unknown[] => triples(8, () => new Uint8Array(1 << 20));
    const first = receive(channel.port2, 8);
    batcher.post(megabytes(), new Map(), () => {}); // 8 MiB cannot clone in 0.2 ms
    expect(await first).toHaveLength(1);
    channel.port2.removeAllListeners('message');
    const second = receive(channel.port2, 8);
    batcher.post(megabytes(), new Map(), () => {});
    const messages = await second;
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.flat().filter((_, i) => i % 3 === 1)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('hands a message that cannot be cloned to the fallback, with its transfer lists', () => {
    const transfer = new ArrayBuffer(8);
    const failures: [unknown[], ReadonlyMap<number, readonly unknown[]>][] = [];
    const batch = [1, 0, { fn: () => 0 }, 1, 1, transfer];
    new Batcher(channel.port1).post(batch, new Map([[3, [transfer]]]), (part, transfers) => failures.push([part, transfers]));
    expect(failures).toEqual([[batch, new Map([[3, [transfer]]])]]);
    expect(transfer.byteLength).toBe(8); // not transferred: the message never left
  });
});

import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { Outbox } from '../src/transport/outbox';
import { Op } from '../src/transport/protocol';

describe('Outbox', () => {
  // A paced stream's worker sends its values in several messages in a row; the pool reads all
  // that have come in one turn of its loop. A grant held for the turn's end (as every triple
  // was) reached the worker only after the pool had read everything the worker had sent:
  // the two sides took turns, and paced streams ran at half the unpaced rate.
  it('posts a grant (soon) before the next message on the channel is read, other triples at the end of the turn', async () => {
    const fromWorker = new MessageChannel();
    const toWorker = new MessageChannel();
    const outbox = new Outbox((batch) => toWorker.port1.postMessage(batch));
    // The three messages wait before this side listens: it reads them in one turn.
    for (const message of ['values 1', 'values 2', 'values 3']) fromWorker.port2.postMessage(message);
    const postedBeforeNext: Array<unknown[] | undefined> = [];
    await new Promise<void>((resolve) => {
      fromWorker.port1.on('message', (message: string) => {
        if (message !== 'values 1') postedBeforeNext.push(receiveMessageOnPort(toWorker.port2)?.message as unknown[] | undefined);
        if (message === 'values 1') outbox.add(Op.run, 7, 'a task'); // goes at the end of the turn
        if (message === 'values 2') {
          outbox.add(Op.credit, 1, 256);
          outbox.soon();
        }
        if (message === 'values 3') setImmediate(resolve);
      });
    });
    // Read before 'values 2': nothing (the task waits for the turn's end). Before 'values 3':
    // the grant, posted at the end of 'values 2', with the task that waited.
    expect(postedBeforeNext).toEqual([undefined, [Op.run, 7, 'a task', Op.credit, 1, 256]]);
    expect(receiveMessageOnPort(toWorker.port2)).toBeUndefined();
    fromWorker.port1.close();
    toWorker.port1.close();
  });
});

import { range } from 'rxjs';
import type { Channel } from '../src/transport/channel';
import { activitySlots, Op } from '../src/transport/protocol';
import type { WorkerDefinition } from '../src/worker/definition';
import { WorkerRuntime } from '../src/worker/runtime';

/**
 * When a worker posts a paced stream's values (src/worker/runtime.ts), driven by hand: the
 * runtime of one worker on a channel that records what it posts, the pool's messages played
 * to it. A window of 64: a grant of the pool is a quarter, 16 values, and the worker's outbox
 * posts at 16 values (`outboxLimit`). No timing decides anything here: what is checked is
 * which turn of the event loop a value leaves in, and Node orders those.
 */
const window = 64;

/** Resolves after `n` turns of the event loop (in its check phase, after what the worker set for the end of a turn then). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** 0 to `n` - 1. */
const upTo = (n: number): number[] => [...Array(n).keys()];

/**
 * A worker runtime paced by {@link window}. Each value it posts (of `next` and `last` triples)
 * is pushed onto `posted`, each triple's op onto `ops`; `deliver` plays one message of the pool.
 */
function paced<T>(definition: WorkerDefinition<T, number, undefined>, posted: number[], ops: Op[] = []): { deliver(...triples: unknown[]): void } {
  let listener: ((batch: unknown[]) => void) | undefined;
  const channel: Channel = {
    postMessage(message) {
      for (let i = 0; i < message.length; i += 3) {
        const op = message[i] as Op;
        ops.push(op);
        if (op === Op.next || op === Op.last) posted.push(message[i + 2] as number);
      }
    },
    on(_event, receive) {
      listener = receive;
    },
  };
  const exit = (): void => undefined;
  const runtime = new WorkerRuntime(channel, definition, 0, undefined, 1, false, new Int32Array(activitySlots), exit, { window, buffer: 1_000 });
  runtime.listen();
  return { deliver: (...triples) => listener!(triples) };
}

describe('a paced stream’s posts', () => {
  // The pool grants a quarter of the window once it has read it. A stream that spent its credit
  // kept its last values in the outbox until the end of the turn (or until a later grant let the
  // outbox fill): the pool could not grant what it had not read, so the grant the stream waited
  // for came later, and the pool had less to read meanwhile. And after each grant, the first
  // value went alone at the end of its microtask (as the first post of a turn does), then the
  // rest: two messages per quarter each way where an unpaced stream needs one.
  it('posts an AsyncIterable’s values when its credit runs out, and those a grant lets go in one post: never more than the window', async () => {
    const posted: number[] = [];
    /** How many values had been posted when the generator was pulled for value i (`seen[i]`). */
    const seen: number[] = [];
    let look: () => void = () => undefined;
    const burstDone = new Promise<void>((resolve) => (look = resolve));
    const worker = paced<null>(
      {
        async *process() {
          // The task's start is reported (at the end of its first turn) before it streams.
          await turns(1);
          // Scheduled before the values: it runs once they have spent the window, and before
          // what the worker sets for the end of this turn as they go.
          setImmediate(look);
          for (let i = 0; ; i++) {
            seen.push(posted.length);
            yield i;
          }
        },
      },
      posted,
    );
    worker.deliver(Op.run, 1, null);
    await burstDone;
    // The whole window has left, though the turn it was yielded in has not ended (49 did before:
    // the last 15 waited in the outbox). The generator was pulled exactly as far as its credit.
    expect(posted).toEqual(upTo(window));
    expect(seen).toHaveLength(window);
    await turns(3);
    expect(posted).toHaveLength(window);
    expect(seen).toHaveLength(window);

    // A grant of 10 (fewer than the outbox holds): they leave together once they have spent it.
    worker.deliver(Op.credit, 1, 10);
    await turns(1);
    expect(posted).toEqual(upTo(window + 10));
    // None of them had left while the generator yielded the others (the first used to go alone).
    expect(seen.slice(window)).toEqual(Array(10).fill(window));
    await turns(3);
    expect(seen).toHaveLength(window + 10);
    expect(posted).toHaveLength(window + 10);

    // Cancelled: the generator is returned (its finally would run), nothing more is pulled.
    worker.deliver(Op.cancel, 1, 0);
    await turns(2);
    expect(seen).toHaveLength(window + 10);
  });

  it('posts an Observable’s held values at once when those a grant lets go spend it, and its end after them', async () => {
    const posted: number[] = [];
    const ops: Op[] = [];
    const worker = paced<null>({ process: () => range(0, 100) }, posted, ops);
    worker.deliver(Op.run, 1, null);
    await turns(2);
    // The 100 values come in one synchronous call: the window leaves, 36 wait in the worker.
    expect(posted).toEqual(upTo(window));
    // A grant of 10: they leave at once, in this call (they waited for the end of the turn, the
    // first alone at the end of the microtask).
    worker.deliver(Op.credit, 1, 10);
    expect(posted).toEqual(upTo(window + 10));
    // The rest, and the end held with them: the end goes after the last value, as one `last`.
    worker.deliver(Op.credit, 1, 26);
    await turns(1);
    expect(posted).toEqual(upTo(100));
    expect(ops.at(-1)).toBe(Op.last);
    expect(ops.filter((op) => op === Op.last || op === Op.complete || op === Op.error)).toEqual([Op.last]);
  });
});

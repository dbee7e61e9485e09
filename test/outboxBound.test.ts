import { from, lastValueFrom, toArray } from 'rxjs';
import { loopPool, TaskTimeoutError, type Settled } from 'looppool';
import type { HeldTask } from './workers/heldValues';
import { workerPath } from './support/paths';

/**
 * With `streamWindow: 16`, a worker posts its outbox at once when it holds 16 triples (a
 * quarter of the window, at least 16 and at most 1,024: `outboxLimit` in src/worker/runtime.ts).
 */
const bound = 16;

describe('the worker’s outbox bound', () => {
  // Commit 5debd25 fixed this without a test: the soak (seed 20261124) saw input 14237 settle
  // twice. The worker posted its outbox at the bound even when the triple that reached it was a
  // task's only value, so the value left without the task's end; a task of the same batch then
  // blocked the loop, the pool terminated the silent worker, and the task that had yielded
  // failed after its value ("Worker 0 stopped answering ... after the task had yielded results").
  // Here `bound` one-value tasks yield in one synchronous call, the last one's value reaching the
  // bound, and the same call then blocks the loop for ever: no timing decides the outcome.
  it('never posts a one-value task’s value without its end: a sibling that blocks the loop cannot make it settle twice', async () => {
    const inputs: HeldTask[] = [...Array.from({ length: bound }, (_, id): HeldTask => ({ kind: 'hold', id })), { kind: 'release' }];
    const records: Array<Settled<HeldTask, number>> = await lastValueFrom(
      from(inputs).pipe(
        loopPool<HeldTask, number>(workerPath('heldValues.ts'), {
          size: 1,
          // Every task of the batch starts as it arrives, in one turn of the worker's loop.
          concurrency: bound + 1,
          queueSize: 0,
          streamWindow: bound,
          settle: true,
          taskTimeout: 100,
          gracePeriod: 100,
        }),
        toArray(),
      ),
    );
    const settled = new Map<number, string[]>();
    for (const record of records) {
      const outcome = record.status === 'fulfilled' ? `value ${record.value}` : `${record.reason.name}: ${record.reason.message}`;
      settled.set(record.index, [...(settled.get(record.index) ?? []), outcome]);
    }
    // Every input exactly once: a held task with its value (retried on the next worker if its
    // value had not left), the releasing one with its timeout.
    for (let id = 0; id < bound; id++) expect({ id, settled: settled.get(id) }).toEqual({ id, settled: [`value ${id}`] });
    expect(settled.get(bound)).toHaveLength(1);
    expect(records.find((record) => record.index === bound)).toMatchObject({ status: 'rejected', reason: expect.any(TaskTimeoutError) });
    expect(records).toHaveLength(inputs.length);
  });
});

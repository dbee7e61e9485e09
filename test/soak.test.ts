import { from, lastValueFrom, toArray } from 'rxjs';
import { loopPool, TaskError, TaskTimeoutError, WorkerCrashError, type Settled } from 'looppool';
import type { Fault, FaultTask } from './workers/faulty';
import { workerPath } from './support/paths';
import { random } from './support/random';

/** The error each fault ends as, when nothing else happened to it. */
const own: Partial<Record<Fault, new (...args: never[]) => Error>> = {
  throw: TaskError,
  crash: WorkerCrashError,
  hang: TaskTimeoutError,
  spin: TaskTimeoutError,
};

/**
 * About a minute of two busy cores: .ci/run runs it on one Node version only (LOOPPOOL_SOAK=skip
 * on the others) to keep the whole run under 20 minutes; `npm test` alone runs it.
 */
const soak = process.env.LOOPPOOL_SOAK === 'skip' ? describe.skip : describe;

soak('fault-injection soak', () => {
  it('accounts for each of 20,000 inputs exactly once, through crashes, hangs and throws in 3% of them', async () => {
    const seed = Number(process.env.SOAK_SEED ?? 20261124);
    const next = random(seed);
    const inputs: FaultTask[] = Array.from({ length: 20_000 }, (_, id) => {
      const roll = next();
      const fault: Fault = roll < 0.014 ? 'throw' : roll < 0.02 ? 'crash' : roll < 0.027 ? 'hang' : roll < 0.03 ? 'spin' : 'none';
      return { id, fault };
    });
    const records: Array<Settled<FaultTask, number>> = await lastValueFrom(
      from(inputs).pipe(
        loopPool<FaultTask, number>(workerPath('faulty.ts'), {
          size: 4,
          concurrency: 2,
          settle: true,
          taskTimeout: 200,
          gracePeriod: 100,
          maxRestarts: 10_000,
          workerData: new Int32Array(new SharedArrayBuffer(64 * 4)),
        }),
        toArray(),
      ),
    );

    const seen = new Array<number>(inputs.length).fill(0);
    const untyped: string[] = [];
    /** Inputs that ended other than as their own fault says: caught in another task's crash or stuck worker. */
    const bystanders: string[] = [];
    for (const record of records) {
      seen[record.index]!++;
      const { fault, id } = record.input;
      expect(id).toBe(record.index);
      if (record.status === 'fulfilled') {
        expect(fault).toBe('none');
        expect(record.value).toBe(id);
        continue;
      }
      const { reason } = record;
      if (![TaskError, WorkerCrashError, TaskTimeoutError].some((type) => reason instanceof type)) untyped.push(reason.message);
      const ownError = own[fault];
      if (!ownError || !(reason instanceof ownError)) bystanders.push(`${fault}: ${reason.message}`);
    }
    const faults = inputs.filter((input) => input.fault !== 'none').length;
    console.log(`soak seed ${seed}: ${faults} faulty inputs; ${bystanders.length} ended with another task's error:\n${bystanders.join('\n')}`);
    // Every input exactly once: the indices seen twice or never, so that a failure names them.
    expect(seen.flatMap((count, index) => (count > 1 ? [index] : []))).toEqual([]);
    expect(seen.flatMap((count, index) => (count === 0 ? [index] : []))).toEqual([]);
    expect(records).toHaveLength(inputs.length);
    expect(untyped).toEqual([]); // as a result or a typed error
    // Crashes and stuck loops catch the tasks running beside them (concurrency 2): those are
    // retried once, so few end with an error that is not their own.
    expect(bystanders.length).toBeLessThan(inputs.length * 0.005);
  }, 240_000);
});

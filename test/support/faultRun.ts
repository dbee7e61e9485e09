import { from, lastValueFrom, tap, toArray } from 'rxjs';
import type { LoopPool, LoopPoolError, Settled } from 'looppool';
import type { Host } from './nats';

/** How the results of a run come out. */
export type RunMode = 'unordered' | 'ordered' | 'settle';

/** A task of `test/workers/delayedEcho.ts`: it returns `id` after `ms` ms. */
export interface Echo {
  readonly id: number;
  readonly ms: number;
}

/**
 * Runs `count` tasks of `ms` ms each (`delayedEcho`) through `pool` in `mode`, starts `fault()`
 * once `after` results have come out, and waits for both. Then checks that every input ended
 * exactly once, fulfilled (in order, in ordered mode), that the pool reported no error (no
 * task failed or timed out, no worker crashed), and that no host stopped or lost a worker.
 */
export async function runThroughFault(
  pool: LoopPool<Echo, number>,
  hosts: readonly Host[],
  mode: RunMode,
  fault: () => Promise<void>,
  { count = 3_000, ms = 2, after = 500 }: { count?: number; ms?: number; after?: number } = {},
): Promise<void> {
  const errors: LoopPoolError[] = [];
  const watched = pool.errors$.subscribe((error) => errors.push(error));
  try {
    const inputs = Array.from({ length: count }, (_, id): Echo => ({ id, ms }));
    const options = mode === 'settle' ? { settle: true } : mode === 'ordered' ? { ordered: true } : {};
    let seen = 0;
    let faulted: Promise<void> | undefined;
    const out = await lastValueFrom(
      pool.process(from(inputs), options).pipe(
        tap(() => {
          if (++seen !== after) return;
          faulted = fault();
          faulted.catch(() => undefined); // awaited below, once the run has ended
        }),
        toArray(),
      ),
    );
    await faulted;
    expect(faulted).toBeDefined();
    const ids = (out as Array<number | Settled<Echo, number>>).map((result) =>
      typeof result === 'number' ? result : result.status === 'fulfilled' ? result.value : `rejected ${result.index}: ${String(result.reason)}`,
    );
    expect(ids.filter((id) => typeof id !== 'number')).toEqual([]);
    expect([...ids].sort((x, y) => (x as number) - (y as number))).toEqual(inputs.map(({ id }) => id));
    if (mode === 'ordered') expect(ids).toEqual(inputs.map(({ id }) => id));
    expect(errors.map(String)).toEqual([]);
    expect(pool.stats().workers.map((worker) => worker.restarts)).toEqual(pool.stats().workers.map(() => 0));
    // Neither side counted the other lost, and no worker was killed: an outage is neither a silence nor a timeout.
    for (const host of hosts) expect(host.output()).not.toMatch(/stopped worker| ended: /);
  } finally {
    watched.unsubscribe();
  }
}

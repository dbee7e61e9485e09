/**
 * The adaptive queueSize hands a worker up to 1,024 tasks ahead; with large inputs that is
 * bounded by bytes too (engine/capacity.ts `mostBytes`, 8 MiB a worker), so that 1 MB records
 * are not a gigabyte in flight. Before, the bound was the task count alone.
 */
import { lastValueFrom, tap, toArray } from 'rxjs';
import { createPool, type LoopPool } from 'looppool';
import type { SizeTask } from './workers/sizes';
import { workerPath } from './support/paths';

const sizes = workerPath('sizes.ts');
const MiB = 1024 * 1024;

/** Runs `tasks` through a 1-worker pool with default options; the most tasks its worker held at once. */
async function mostHeld(pool: LoopPool<SizeTask, number>, tasks: SizeTask[]): Promise<{ held: number; results: number[] }> {
  let held = 0;
  let seen = 0;
  const note = (): void => {
    if (tasks.length > 2000 && ++seen % 64 !== 0) return;
    const worker = pool.stats().workers[0];
    if (worker) held = Math.max(held, worker.inFlight + worker.queued);
  };
  const results = await lastValueFrom(pool.process(tasks).pipe(tap(note), toArray()));
  return { held, results };
}

describe('hand-ahead bounded by bytes (default queueSize)', () => {
  let pool: LoopPool<SizeTask, number> | undefined;
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  it('a worker never holds more than 8 MiB of large inputs, while small inputs go further ahead', async () => {
    pool = createPool<SizeTask, number>(sizes, { size: 1 });
    // A Buffer's length is its bytes: the worker's `length` task answers it.
    const big = Buffer.alloc(MiB) as unknown as string;
    const large = await mostHeld(pool, Array.from({ length: 600 }, () => ({ kind: 'length', value: big })));
    expect(large.results).toEqual(Array.from({ length: 600 }, () => MiB));
    expect(large.held).toBeLessThanOrEqual(8);

    const small = await mostHeld(pool, Array.from({ length: 20_000 }, () => ({ kind: 'length', value: 'tiny' })));
    expect(small.results).toHaveLength(20_000);
    expect(small.held).toBeGreaterThan(8);
  });
});

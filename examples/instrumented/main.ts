/**
 * Sends messages through a pool of instrumented workers and prints which thread ran each.
 *
 *   npx tsx examples/instrumented/main.ts
 */
import { join } from 'node:path';
import { from } from 'rxjs';
import { createPool, loopPool } from 'looppool';
import type { Traced } from './instrumented.worker';

async function main(): Promise<void> {
  const pool = createPool<string, Traced>(join(__dirname, 'instrumented.worker.ts'), 2);
  from(['alpha', 'beta', 'gamma', 'delta'])
    .pipe(loopPool(pool, { ordered: true }))
    .subscribe({
      next: (traced) => console.log(JSON.stringify(traced)),
      complete: () => void pool.stop(),
    });
}

void main();

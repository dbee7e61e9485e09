/**
 * `npm run demo`: fingerprints 200,000 generated records on worker threads, then does the
 * same work on the main thread, and prints both times and the speed-up.
 *
 * The records are pulled from a generator as the workers take them (`pool.process`), so
 * memory stays flat. Ctrl-C stops gracefully (`stopOnSignals`): no new record is read, every
 * record taken is finished, and the demo prints how far it got.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { lastValueFrom, tap } from 'rxjs';
import { createPool, PoolClosedError } from 'looppool';
import { fingerprint, type Customer } from './hash.worker';

const items = Number(process.env.DEMO_ITEMS ?? 200_000);
const size = availableParallelism();

function* customers(): Generator<Customer> {
  for (let id = 0; id < items; id++) {
    yield { id, name: `Customer ${id}`, email: `customer${id}@example.com`, note: 'x'.repeat(id % 64) };
  }
}

async function main(): Promise<void> {
  console.log(`Fingerprinting ${items.toLocaleString('en')} records, ${size} worker threads against the main thread...`);

  // A record takes about 20 µs: with concurrency 128, many travel in each message.
  const pool = createPool<Customer, string>(join(__dirname, 'hash.worker.ts'), { size, concurrency: 128, stopOnSignals: true });
  let started = performance.now();
  let done = 0;
  try {
    await lastValueFrom(pool.process(customers()).pipe(tap(() => done++)), { defaultValue: undefined });
  } catch (error) {
    if (!(error instanceof PoolClosedError)) throw error;
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    console.log(`Interrupted after ${seconds} s: ${done.toLocaleString('en')} records fingerprinted.`);
    console.log('Every record read was finished; none was left half-done.');
    return;
  } finally {
    await pool.stop();
  }
  const onWorkers = performance.now() - started;

  started = performance.now();
  for (const record of customers()) fingerprint(record);
  const onMainThread = performance.now() - started;

  const rate = (ms: number): string => Math.round((items / ms) * 1000).toLocaleString('en');
  console.log(`items:       ${done.toLocaleString('en')}`);
  console.log(`workers:     ${(onWorkers / 1000).toFixed(2)} s (${rate(onWorkers)} items/s)`);
  console.log(`main thread: ${(onMainThread / 1000).toFixed(2)} s (${rate(onMainThread)} items/s)`);
  console.log(`speed-up:    ${(onMainThread / onWorkers).toFixed(2)}x on ${size} threads`);
}

void main();

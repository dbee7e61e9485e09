/**
 * `npm run demo`: fingerprints 200,000 generated records on worker threads with loopPool,
 * then does the same work on the main thread, and prints both times and the speed-up.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { count, from, lastValueFrom } from 'rxjs';
import { loopPool } from 'looppool';
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

  let started = performance.now();
  // A record takes about 20 µs: with concurrency 128, many travel in each message.
  const fingerprints = loopPool<Customer, string>(join(__dirname, 'hash.worker.ts'), { size, concurrency: 128 });
  const done = await lastValueFrom(from(customers()).pipe(fingerprints, count()));
  const onWorkers = performance.now() - started;

  started = performance.now();
  for (const record of customers()) fingerprint(record);
  const onMainThread = performance.now() - started;

  console.log(`items:       ${done.toLocaleString('en')}`);
  console.log(`workers:     ${(onWorkers / 1000).toFixed(2)} s (${Math.round((items / onWorkers) * 1000).toLocaleString('en')} items/s)`);
  console.log(`main thread: ${(onMainThread / 1000).toFixed(2)} s (${Math.round((items / onMainThread) * 1000).toLocaleString('en')} items/s)`);
  console.log(`speed-up:    ${(onMainThread / onWorkers).toFixed(2)}x on ${size} threads`);
}

void main();

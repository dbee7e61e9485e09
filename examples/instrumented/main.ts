/**
 * Looppool's instrumented worker: each result names the worker and thread that produced it,
 * and the pool reports its figures (per-worker event-loop utilization and delay, heap, task
 * counts) as a snapshot on stderr and, with `STATSD=host:port`, to statsd through hot-shots.
 *
 *   STATSD=127.0.0.1:8125 npx tsx examples/instrumented/main.ts
 */
import { join } from 'node:path';
import { firstValueFrom, from, lastValueFrom, toArray } from 'rxjs';
import { createPool, loopPool } from 'looppool';
import type { Traced } from './instrumented.worker';

async function main(): Promise<void> {
  const [host, port] = (process.env.STATSD ?? '').split(':');
  const pool = createPool<string, Traced>(join(__dirname, 'instrumented.worker.ts'), {
    name: 'instrumented',
    size: 2,
    statsInterval: 200,
    ...(host && port ? { metrics: { statsd: { host, port: Number(port) }, interval: 100 } } : {}),
    onError: (error) => console.error(`${error.workerName ?? 'pool'}: ${error.message}`),
  });
  const traced = await lastValueFrom(from(['alpha', 'beta', 'gamma', 'delta']).pipe(loopPool(pool, { ordered: true }), toArray()));
  for (const result of traced) console.log(JSON.stringify(result));
  const stats = await firstValueFrom(pool.stats$); // measures every worker now
  for (const worker of stats.workers) {
    console.error(
      `${worker.name}: ${worker.done} done, elu ${worker.elu?.toFixed(3)}, ` +
        `loop delay p99 ${worker.loopDelay?.p99.toFixed(1)} ms, heap ${((worker.heapUsed ?? 0) / 1e6).toFixed(1)} MB`,
    );
  }
  await pool.stop();
}

void main();

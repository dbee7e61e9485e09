/**
 * `npm run bench:metrics`: what monitoring costs. Runs 300,000 tiny tasks (`x => x + 1`,
 * 2 workers, concurrency 32) with no monitoring, then with statsd metrics every second to a
 * real statsd daemon on 127.0.0.1 and a 100 ms blocked-loop watch, alternating, 15 rounds
 * each, and prints the median throughput of each and the median drop within a round.
 */
import { join } from 'node:path';
import { count, lastValueFrom, range } from 'rxjs';
import { loopPool, type LoopPoolOptions } from 'looppool';
import { startStatsd } from '../test/support/statsdServer';

const tasks = 300_000;
const rounds = 15;
const worker = join(__dirname, 'metrics-cost.worker.ts');

async function throughput(options: LoopPoolOptions): Promise<number> {
  const started = performance.now();
  const done = await lastValueFrom(range(0, tasks).pipe(loopPool<number, number>(worker, options), count()));
  if (done !== tasks) throw new Error(`expected ${tasks} results, got ${done}`);
  return tasks / ((performance.now() - started) / 1000);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const statsd = await startStatsd();
  const plain: LoopPoolOptions = { size: 2, concurrency: 32 };
  const monitored: LoopPoolOptions = {
    ...plain,
    blockingThreshold: 100,
    metrics: { statsd: { host: '127.0.0.1', port: statsd.port }, interval: 1_000 },
  };
  const off: number[] = [];
  const on: number[] = [];
  await throughput(plain); // warm-up
  for (let round = 0; round < rounds; round++) {
    off.push(await throughput(plain));
    on.push(await throughput(monitored));
  }
  await statsd.stop();
  // Each round runs both back to back; the cost is the median of the rounds' own ratios, so
  // that the machine's drift from round to round cancels out.
  const cost = median(off.map((a, round) => (a - on[round]!) / a)) * 100;
  console.log(`${tasks.toLocaleString('en')} tiny tasks, ${rounds} rounds, each with monitoring off then on:`);
  console.log(`  metrics off: ${Math.round(median(off)).toLocaleString('en')} tasks/s (median)`);
  console.log(`  metrics on:  ${Math.round(median(on)).toLocaleString('en')} tasks/s (median)`);
  console.log(`  cost:        ${cost.toFixed(1)}% (median of the rounds' ratios; goal: under 3%)`);
}

void main();

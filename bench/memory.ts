/**
 * `npm run bench:memory`: pulls 1,000,000 and then 10,000,000 generated records through an
 * identity worker with `pool.process`, each run in a process of its own, and prints the peak
 * RSS of each. Flat memory means the 10M run peaks within 10% of the 1M run.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { lastValueFrom, count } from 'rxjs';
import { createPool } from 'looppool';

interface Run {
  items: number;
  seconds: number;
  peakRssMb: number;
}

function* records(total: number): Generator<{ id: number; payload: string }> {
  for (let id = 0; id < total; id++) yield { id, payload: `record ${id}` };
}

async function child(items: number): Promise<void> {
  const pool = createPool<{ id: number; payload: string }, number>(join(__dirname, 'memory.worker.ts'), {
    size: 2,
    concurrency: 32,
  });
  await pool.ready;
  const started = performance.now();
  const done = await lastValueFrom(pool.process(records(items)).pipe(count()));
  const seconds = (performance.now() - started) / 1000;
  await pool.stop();
  if (done !== items) throw new Error(`expected ${items} results, got ${done}`);
  // maxRSS (KiB) is the peak of the whole process: the main thread and both workers.
  const run: Run = { items, seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(run));
}

function main(): void {
  const runs = [1_000_000, 10_000_000].map((items): Run => {
    const out = execFileSync(process.execPath, [...process.execArgv, __filename, String(items)], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop()!) as Run;
  });
  console.log('| items | time | items/s | peak RSS |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const run of runs) {
    const rate = Math.round(run.items / run.seconds).toLocaleString('en');
    console.log(`| ${run.items.toLocaleString('en')} | ${run.seconds.toFixed(1)} s | ${rate} | ${run.peakRssMb.toFixed(0)} MB |`);
  }
  const growth = (runs[1]!.peakRssMb / runs[0]!.peakRssMb - 1) * 100;
  console.log(`\nPeak RSS at 10M is ${growth >= 0 ? '+' : ''}${growth.toFixed(1)}% of the 1M run (goal: within 10%).`);
}

if (process.argv[2]) void child(Number(process.argv[2]));
else main();

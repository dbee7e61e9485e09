/**
 * `npm run bench:retention`: why copying 1 MiB tasks is slower in looppool than in tinypool.
 * looppool keeps each input until its task ends (to retry it after a crash, to put it in a
 * settle record, to name it in an error). This runs tinypool on 2,000 copied 1 MiB tasks
 * twice: as it is, and holding each task until its result arrives, as looppool does. It
 * prints throughput and the main thread's full (mark-compact) garbage collections of each.
 */
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const tasks = 2_000;
const inFlight = 64;

/** Counts the main thread's mark-compact collections while `run` runs. */
async function countFullGcs(run: () => Promise<void>): Promise<number> {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) count++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  await run();
  await new Promise((resolve) => setTimeout(resolve, 10)); // let the last entries arrive
  observer.disconnect();
  return count;
}

async function main(): Promise<void> {
  const { Tinypool } = await import('tinypool');
  const pool = new Tinypool({
    filename: join(__dirname, 'peers', 'tinypool.worker.cjs'),
    minThreads: 2,
    maxThreads: 2,
    concurrentTasksPerWorker: 32,
  });
  const run = async (hold: boolean): Promise<number> => {
    const held = new Set<object>();
    let next = 0;
    const started = performance.now();
    const megabyte = (): ArrayBuffer => Buffer.allocUnsafeSlow(1 << 20).buffer as ArrayBuffer;
    // Two loops, so that the one that lets go keeps no reference to its task in its frame.
    const letGo = async (): Promise<void> => {
      while (next++ < tasks) await pool.run({ s: 'buffer', x: megabyte() });
    };
    const keep = async (): Promise<void> => {
      while (next++ < tasks) {
        const task = { s: 'buffer', x: megabyte() };
        held.add(task);
        await pool.run(task);
        held.delete(task);
      }
    };
    const worker = hold ? keep : letGo;
    await Promise.all(Array.from({ length: inFlight }, worker));
    return tasks / ((performance.now() - started) / 1000);
  };
  await run(false); // warm-up
  for (const hold of [false, true, false, true]) {
    let rate = 0;
    const gcs = await countFullGcs(async () => void (rate = await run(hold)));
    const label = hold ? 'tasks held until their results' : 'tasks released once posted  ';
    console.log(`tinypool, ${label}: ${Math.round(rate).toLocaleString('en')} tasks/s, ${gcs} mark-compact GCs`);
  }
  await pool.destroy();
}

void main();

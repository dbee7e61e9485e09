import { execFile } from 'node:child_process';
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { from } from 'rxjs';
import { loopPool, type WorkerType } from 'looppool';
import { nats } from 'looppool/nats';
import type { StreamTask } from '../workers/stream';
import { workerPath } from './paths';

/**
 * The slow sink of test/streaming.test.ts, in a process of its own so that its peak RSS is
 * that of one run alone, not of the test runner's history. The process (and a host's, see
 * {@link smallHeaps}) runs with V8's heaps kept small: left to itself, V8 sizes its heaps up
 * under a fast stream and keeps them so (Node 24's main thread went from 43 to 150-180 MB of
 * heap with 50 MB in use), which would hide whether the values themselves are held.
 */

/** Where the tasks run: a worker type, or a `looppool-worker` host's pool over NATS. */
export type SinkWorkers = WorkerType | { readonly servers: string; readonly pool: string };

export interface SlowSinkRun {
  /** Values the subscriber took. */
  readonly taken: number;
  /** The most any task had pulled beyond what the subscriber had taken of it. */
  readonly maxAhead: number;
  /** The sink process's peak RSS, in bytes. */
  readonly peakRss: number;
}

/** V8 flags that keep a process's heaps near what it holds (young generation 1 MB semi-spaces, old generation 128 MB). */
export const smallHeaps = ['--max-semi-space-size=1', '--max-old-space-size=128'];

/**
 * `tasks` tasks (one unless said) each yield `count` values of 100 bytes through `loopPool`,
 * all at once on its one worker, to a subscriber that takes one value per millisecond for its
 * first two seconds (it blocks the main thread, as a slow synchronous sink does), then as fast
 * as it can. Each task writes how many values it has pulled to a file of its own (`counter`,
 * or `counter.<k>`) every 16 values; every 16 values taken of a task, the subscriber reads
 * that task's file and compares it with what it has taken of it. Runs in a child process
 * with {@link smallHeaps}.
 */
export async function slowSink(workers: SinkWorkers, count: number, counter: string, tasks = 1): Promise<SlowSinkRun> {
  const { stdout } = await promisify(execFile)(process.execPath, [...smallHeaps, __filename, JSON.stringify({ workers, count, counter, tasks })], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as SlowSinkRun;
}

/** The run itself, in the child. */
async function sink(workers: SinkWorkers, count: number, counter: string, tasks: number): Promise<SlowSinkRun> {
  let taken = 0;
  let maxAhead = -Infinity;
  let start = 0;
  let last = 0;
  const pulled = Buffer.alloc(4);
  const streams = Array.from({ length: tasks }, (_, k) => {
    const path = tasks === 1 ? counter : `${counter}.${k}`;
    writeFileSync(path, Buffer.alloc(4));
    const task: StreamTask = { kind: 'generate', count, size: 100, report: 16, counter: path, tag: String(k) };
    return { task, fd: openSync(path, 'r'), taken: 0 };
  });
  const where = typeof workers === 'string' ? { workerType: workers } : { transport: nats(workers) };
  await new Promise<void>((resolve, reject) => {
    from(streams.map((stream) => stream.task))
      .pipe(loopPool<StreamTask, string>(workerPath('stream.ts'), { size: 1, concurrency: tasks, ...where }))
      .subscribe({
        next: (value) => {
          taken++;
          const stream = streams[Number(value[8])]!;
          if (++stream.taken % 16 === 0) {
            readSync(stream.fd, pulled, 0, 4, 0);
            maxAhead = Math.max(maxAhead, pulled.readUInt32LE() - stream.taken);
          }
          const now = performance.now();
          if (start === 0) start = last = now;
          if (now - start > 2_000) return;
          while (performance.now() - last < 1);
          last = performance.now();
        },
        error: reject,
        complete: resolve,
      });
  }).finally(() => streams.forEach((stream) => closeSync(stream.fd)));
  return { taken, maxAhead, peakRss: process.resourceUsage().maxRSS * 1024 };
}

if (require.main === module) {
  const { workers, count, counter, tasks } = JSON.parse(process.argv[2]!) as { workers: SinkWorkers; count: number; counter: string; tasks: number };
  sink(workers, count, counter, tasks).then(
    (run) => console.log(JSON.stringify(run)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

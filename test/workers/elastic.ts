import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { defineWorker } from 'looppool/worker';

/**
 * What the elastic worker can be asked: set its version (a broadcast), say who it is after `ms`,
 * say who it is once `workers` distinct workers have run a `meet` task with the same `dir` (a
 * barrier that holds until the pool has grown), or exit (a crash).
 */
export type ElasticTask =
  | { kind: 'set'; version: number }
  | { kind: 'who'; ms?: number }
  | { kind: 'meet'; dir: string; workers: number }
  | { kind: 'exit' };

/** Which worker ran the task, where, and the version its broadcasts set. */
export interface ElasticResult {
  worker: number;
  version: number;
  pid: number;
  threadId: number;
}

/** `workerData` of a pool whose workers other than worker 0 wait in `init` until the file `open` exists in `holdDir`. */
export interface ElasticData {
  holdDir: string;
}

let version = 0;

export default defineWorker({
  async init(ctx: { index: number; workerData: Partial<ElasticData> | undefined }) {
    const dir = ctx.workerData?.holdDir;
    if (dir === undefined || ctx.index === 0) return;
    while (!existsSync(join(dir, 'open'))) await new Promise((resolve) => setTimeout(resolve, 10));
  },
  async process(task: ElasticTask, ctx): Promise<ElasticResult> {
    if (task.kind === 'exit') process.exit(3);
    if (task.kind === 'set') version = task.version;
    else if (task.kind === 'meet') await meet(task.dir, task.workers, ctx.index);
    else if (task.ms) await new Promise((resolve) => setTimeout(resolve, task.ms));
    return { worker: ctx.index, version, pid: process.pid, threadId };
  },
});

/** Marks this worker as arrived in `dir`, then waits until `workers` workers have. */
async function meet(dir: string, workers: number, index: number): Promise<void> {
  const mark = join(dir, String(index));
  if (!existsSync(mark)) writeFileSync(mark, '');
  while (readdirSync(dir).length < workers) await new Promise((resolve) => setTimeout(resolve, 10));
}

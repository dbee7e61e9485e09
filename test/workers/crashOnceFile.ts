import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineWorker } from 'looppool/worker';

/**
 * A task that kills its worker, counting its runs in a file (no shared memory: hosts on
 * other machines share only a folder here, on one test machine).
 */
export interface CrashTask {
  id: number;
  /** The folder where `<id>.runs` gets one line per run. */
  dir: string;
  /** `'once'`: the first run exits, later runs return `id`; `'always'`: every run exits. */
  crash: 'once' | 'always';
}

/** Runs of task `id` so far, this one included. */
function countRun({ id, dir }: CrashTask): number {
  const file = join(dir, `${id}.runs`);
  appendFileSync(file, 'run\n');
  return readFileSync(file, 'utf8').split('\n').length - 1;
}

export default defineWorker((task: CrashTask): number => {
  const run = countRun(task);
  if (task.crash === 'always' || run === 1) process.exit(7);
  return task.id;
});

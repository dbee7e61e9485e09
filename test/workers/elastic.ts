import { threadId } from 'node:worker_threads';
import { defineWorker } from 'looppool/worker';

/** What the elastic worker can be asked: set its version (a broadcast), say who it is after `ms`, or exit (a crash). */
export type ElasticTask = { kind: 'set'; version: number } | { kind: 'who'; ms?: number } | { kind: 'exit' };

/** Which worker ran the task, where, and the version its broadcasts set. */
export interface ElasticResult {
  worker: number;
  version: number;
  pid: number;
  threadId: number;
}

let version = 0;

export default defineWorker(async (task: ElasticTask, ctx): Promise<ElasticResult> => {
  if (task.kind === 'exit') process.exit(3);
  if (task.kind === 'set') version = task.version;
  else if (task.ms) await new Promise((resolve) => setTimeout(resolve, task.ms));
  return { worker: ctx.index, version, pid: process.pid, threadId };
});

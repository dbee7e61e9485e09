import { threadId } from 'node:worker_threads';
import { defineWorker } from 'looppool/worker';

interface Data {
  greeting: string;
}

let fromInit = '';

/** Reports what the worker sees: its index, its thread and process, and what init made of workerData. */
export default defineWorker({
  init(ctx: { workerData: Data; index: number }) {
    fromInit = `${ctx.workerData.greeting} from ${ctx.index}`;
  },
  process: (task: number, ctx) => ({ task, index: ctx.index, threadId, pid: process.pid, fromInit, workerData: ctx.workerData }),
});

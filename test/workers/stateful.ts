import { defineWorker } from 'looppool/worker';
import { add, type Tally } from '../support/tally';

/** What the stateful worker can be asked. */
export type StatefulTask =
  | { kind: 'whoami' }
  | { kind: 'sleep'; ms: number }
  | { kind: 'refresh'; version: number }
  | { kind: 'fail' }
  | { kind: 'exit' };

/** What it answers: which worker ran the task, and the version its last broadcast set. */
export interface StatefulResult {
  worker: number;
  version: number;
  kind: StatefulTask['kind'];
}

/**
 * Shared counters: `[index]` counts `refresh` tasks per worker, `[8 + index]` counts `init`
 * runs per worker (up to 8 workers).
 */
export type Counters = Tally;

let version = 0;

export default defineWorker({
  init(ctx: { index: number; workerData: Counters; emit(value: StatefulResult): void }) {
    add(ctx.workerData, 8 + ctx.index);
  },
  async process(task: StatefulTask, ctx): Promise<StatefulResult> {
    const counters = ctx.workerData as Counters;
    switch (task.kind) {
      case 'sleep':
        await new Promise((resolve) => setTimeout(resolve, task.ms));
        break;
      case 'refresh':
        add(counters, ctx.index);
        version = task.version;
        break;
      case 'fail':
        throw new Error('asked to fail');
      case 'exit':
        process.exit(5);
    }
    return { worker: ctx.index, version, kind: task.kind };
  },
});

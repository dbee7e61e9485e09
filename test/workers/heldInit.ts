import { defineWorker, type WorkerContext } from 'looppool/worker';
import { runStreamTask, type StreamTask } from './streamTasks';

/**
 * The stream worker (see stream.ts), whose `init` holds the thread until the test lets it go:
 * `workerData` is an Int32Array on shared memory; `init` sets `[1]` to 1 once it runs, then
 * waits until `[0]` is not 0.
 */
export default defineWorker({
  init(ctx: WorkerContext<Int32Array>) {
    const gate = ctx.workerData;
    Atomics.store(gate, 1, 1);
    Atomics.wait(gate, 0, 0);
  },
  process: (task: StreamTask) => runStreamTask(task),
});

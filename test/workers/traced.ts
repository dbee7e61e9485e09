import { trace } from '@opentelemetry/api';
import { registerWorkerTracing } from 'looppool/otel';
import { defineWorker } from 'looppool/worker';
import { add, type Tally } from '../support/tally';

export interface TracedTask {
  id: number;
  /** Exits the worker the first time this id runs, after its span has started: the retry succeeds. */
  crashOnce?: boolean;
}

const tracer = () => trace.getTracer('traced-worker');

/**
 * A worker with no SDK of its own that traces through `registerWorkerTracing()`: each task is
 * a `worker.work` span, and after an await (a continuation) a `worker.inner` span under it.
 */
export default defineWorker({
  init: () => {
    registerWorkerTracing();
  },
  process: (task: TracedTask, ctx: { workerData: Tally }) =>
    tracer().startActiveSpan('worker.work', async (span) => {
      span.setAttribute('task.id', task.id);
      await new Promise((resolve) => setTimeout(resolve, 2));
      tracer().startSpan('worker.inner').end();
      if (task.crashOnce && add(ctx.workerData, 8 + task.id) === 0) process.exit(7);
      span.end();
      return task.id;
    }),
});

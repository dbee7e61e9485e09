import { defineWorker, type WorkerContext } from 'looppool/worker';

let table: Map<string, number> = new Map();

/** docs/worker-api.md's worker: `workerData` typed through the context of `init`, `ctx` of `process` unannotated. */
export default defineWorker({
  init(ctx: WorkerContext<{ entries: Array<[string, number]> }>) {
    table = new Map(ctx.workerData.entries);
  },
  process(key: string, ctx) {
    void ctx.signal;
    return table.get(key) ?? null;
  },
});

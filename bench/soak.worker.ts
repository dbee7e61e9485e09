import { defineWorker } from 'looppool/worker';

/** How a task of the soak misbehaves; the same faults as test/workers/faulty.ts. */
export type SoakFault = 'none' | 'throw' | 'crash' | 'hang' | 'spin';

export interface SoakTask {
  id: number;
  fault: SoakFault;
}

/**
 * The soak's worker. `workerData` counts the runs of each task, at its id: how often the
 * worker started it, whatever the main thread believes.
 */
export default defineWorker({
  process({ id, fault }: SoakTask, ctx: { workerData: Int32Array }): number | Promise<number> {
    Atomics.add(ctx.workerData, id, 1);
    switch (fault) {
      case 'throw':
        throw new Error(`task ${id} throws`);
      case 'crash':
        process.exit(7);
      case 'hang':
        return new Promise(() => {});
      case 'spin':
        for (;;);
      default:
        return id;
    }
  },
});

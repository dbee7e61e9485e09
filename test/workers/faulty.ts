import { defineWorker } from 'looppool/worker';

/** How a task of the faulty worker misbehaves. */
export type Fault =
  | 'none'
  | 'later' // resolves with its id after 10 ms
  | 'throw' // throws: TaskError
  | 'crash' // process.exit(7), every time: WorkerCrashError once retries are spent
  | 'crash-once' // process.exit(7) the first time this id runs: the retry succeeds
  | 'uncaught' // throws in a timer: the worker dies with an uncaught error
  | 'rejection' // an unhandled rejection: the worker dies too
  | 'hang' // never settles, but the event loop turns: TaskTimeoutError, worker kept
  | 'spin' // blocks the event loop: TaskTimeoutError, worker replaced
  | 'oom' // allocates until the heap limit: WorkerCrashError 'out of memory'
  | 'poison-init' // sets a flag that makes every later init exit: a crash loop
  | 'busy'; // blocks the event loop for 300 ms, then returns

export interface FaultTask {
  id: number;
  fault: Fault;
}

/**
 * Shared counters: `[0]` aborted signals, `[1]` init runs, `[2]` poisoned flag, and from
 * `[8]`, runs per task id (for 'crash-once').
 */
export type FaultCounters = Int32Array;

export default defineWorker({
  init(ctx: { workerData: FaultCounters }) {
    Atomics.add(ctx.workerData, 1, 1);
    if (Atomics.load(ctx.workerData, 2) === 1) process.exit(9);
  },
  process({ id, fault }: FaultTask, ctx): number | Promise<number> {
    const counters = ctx.workerData as FaultCounters;
    ctx.signal.addEventListener('abort', () => Atomics.add(counters, 0, 1));
    switch (fault) {
      case 'later':
        return new Promise((resolve) => setTimeout(() => resolve(id), 10));
      case 'throw':
        throw new Error(`task ${id} throws`);
      case 'crash':
        process.exit(7);
      case 'crash-once':
        if (Atomics.add(counters, 8 + id, 1) === 0) process.exit(7);
        return id;
      case 'uncaught':
        setTimeout(() => {
          throw new Error(`task ${id} throws in a timer`);
        });
        return new Promise(() => {});
      case 'rejection':
        void Promise.reject(new Error(`task ${id} rejects unhandled`));
        return new Promise(() => {});
      case 'hang':
        return new Promise(() => {});
      case 'spin':
        for (;;);
      case 'oom': {
        const hoard: number[][] = [];
        for (;;) hoard.push(new Array<number>(1e6).fill(id));
      }
      case 'busy': {
        const until = Date.now() + 300;
        while (Date.now() < until);
        return id;
      }
      case 'poison-init':
        Atomics.store(counters, 2, 1);
        process.exit(7);
      default:
        return id;
    }
  },
});

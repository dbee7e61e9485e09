import { defineWorker } from 'looppool/worker';
import { add, load, type Tally } from '../support/tally';

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
  | 'busy' // blocks the event loop for 300 ms, then returns
  // Added for the supervision tests (test/supervision.test.ts). The ones that count their runs
  // keep the count of task `id` in `[8 + id]`, like 'crash-once'.
  | 'ms' // resolves with its id after a 1 ms timer
  | 'sleep' // resolves with its id after a `ms` ms timer (default 200)
  | 'spin-after-await' // awaits a 1 ms timer, then blocks the event loop for ever
  | 'exit-now' // counts its run, then process.exit(7), every time
  | 'sleep-then-crash-once' // waits `ms` ms (default 300); on the first run of this id it then exits, later runs resolve with the id
  | 'oom-counted' // counts its run, then allocates until the heap limit, like 'oom'
  | 'sleep-then-busy' // counts its run, awaits a 1 ms timer, then blocks the event loop for `ms` ms (default 300) and returns its id
  | 'stream' // an AsyncIterable of `${id}.0`, `${id}.1`, `${id}.2`, a timer turn apart
  | 'stream-then-exit' // the same, then on the first run of this id exits the thread instead of completing
  | 'observable-then-exit' // the same as an Observable (a bare Subscribable: the worker loads no RxJS)
  | 'bytes' // resolves with the byteLength of `buf`, as the worker received it
  | 'bytes-crash-once'; // exits on the first run of this id; later runs resolve with the byteLength of `buf`

export interface FaultTask {
  id: number;
  fault: Fault;
  /** Milliseconds, for the faults that wait or block: 'sleep', 'sleep-then-crash-once', 'sleep-then-busy'. */
  ms?: number;
  /** A buffer for the 'bytes' faults, to be transferred (the pool's `transfer` option). */
  buf?: ArrayBuffer;
}

/**
 * Shared counters: `[0]` aborted signals, `[1]` init runs, `[2]` poisoned flag, `[3]` hold
 * flag and `[4]` release (see `init`), and from `[8]`, runs per task id (for 'crash-once' and
 * the faults that count their runs).
 */
export type FaultCounters = Tally;

const timer = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Blocks the event loop for `ms` ms. */
function block(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

/** `${id}.0`, `${id}.1`, `${id}.2`, a timer turn apart; then, if `exitFirst` and this is the first run of `id`, the thread exits. */
async function* stream(id: number, counters: FaultCounters, exitFirst: boolean): AsyncIterable<string> {
  const run = exitFirst ? add(counters, 8 + id) : 1;
  for (let value = 0; value < 3; value++) {
    await timer(1);
    yield `${id}.${value}`;
  }
  if (run === 0) process.exit(7);
}

/** What `stream` yields, as a bare Subscribable. */
function observable(id: number, counters: FaultCounters): { subscribe(observer: { next(v: string): void; complete(): void }): { unsubscribe(): void } } {
  return {
    subscribe(observer) {
      const run = add(counters, 8 + id);
      let value = 0;
      const tick = setInterval(() => {
        observer.next(`${id}.${value++}`);
        if (value < 3) return;
        clearInterval(tick);
        if (run === 0) process.exit(7);
        observer.complete();
      }, 1);
      return { unsubscribe: () => clearInterval(tick) };
    },
  };
}

export default defineWorker({
  init(ctx: { workerData: FaultCounters }) {
    add(ctx.workerData, 1);
    if (load(ctx.workerData, 2) !== 0) process.exit(9);
    // Held: the first init waits (up to 10 s) until the test stores 1 in [4], so that the test
    // can choose what the main thread is doing when this worker becomes ready.
    if (typeof ctx.workerData !== 'string' && load(ctx.workerData, 3) === 1) Atomics.wait(ctx.workerData, 4, 0, 10_000);
  },
  process({ id, fault, ms, buf }: FaultTask, ctx): number | string | Promise<number> | AsyncIterable<string> | ReturnType<typeof observable> {
    const counters = ctx.workerData as FaultCounters;
    ctx.signal.addEventListener('abort', () => add(counters, 0));
    switch (fault) {
      case 'later':
        return new Promise((resolve) => setTimeout(() => resolve(id), 10));
      case 'throw':
        throw new Error(`task ${id} throws`);
      case 'crash':
        process.exit(7);
      case 'crash-once':
        if (add(counters, 8 + id) === 0) process.exit(7);
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
        add(counters, 2);
        process.exit(7);
      case 'ms':
        return timer(1).then(() => id);
      case 'sleep':
        return timer(ms ?? 200).then(() => id);
      case 'spin-after-await':
        return timer(1).then(() => {
          for (;;);
        });
      case 'exit-now':
        add(counters, 8 + id);
        process.exit(7);
      case 'sleep-then-crash-once': {
        const run = add(counters, 8 + id);
        return timer(ms ?? 300).then(() => {
          if (run === 0) process.exit(7);
          return id;
        });
      }
      case 'oom-counted': {
        add(counters, 8 + id);
        const hoard: number[][] = [];
        for (;;) hoard.push(new Array<number>(1e6).fill(id));
      }
      case 'sleep-then-busy':
        add(counters, 8 + id);
        return timer(1).then(() => {
          block(ms ?? 300);
          return id;
        });
      case 'stream':
        return stream(id, counters, false);
      case 'stream-then-exit':
        return stream(id, counters, true);
      case 'observable-then-exit':
        return observable(id, counters);
      case 'bytes':
        return buf?.byteLength ?? -1;
      case 'bytes-crash-once':
        if (add(counters, 8 + id) === 0) process.exit(7);
        return buf?.byteLength ?? -1;
      default:
        return id;
    }
  },
});

import { planScaling, type ScaleBounds, type ScalePlan, type WorkerFacts } from '../src/engine/scaling';

/** A worker, as little as a case needs to say: `idle(t)` has held nothing since t, `busy(n)` holds n tasks. */
const off: WorkerFacts = { live: false, assigned: 0, targeted: 0, idleSince: undefined };
const idle = (since: number): WorkerFacts => ({ live: true, assigned: 0, targeted: 0, idleSince: since });
const busy = (assigned: number): WorkerFacts => ({ live: true, assigned, targeted: 0, idleSince: undefined });
const starting: WorkerFacts = { live: true, assigned: 0, targeted: 0, idleSince: undefined };
/** A cluster's worker that no host serves yet: it waits for a free thread. */
const unserved: WorkerFacts = { ...starting, unserved: true };
const targeted = (worker: WorkerFacts, count: number): WorkerFacts => ({ ...worker, targeted: count, idleSince: undefined });

/** min 1, max 4, 2 tasks per worker (concurrency 1 + queueSize 1), idle after 1000 ms. */
const bounds = (facts: Partial<ScaleBounds> = {}): ScaleBounds => ({ min: 1, max: 4, capacity: 2, idleTimeout: 1000, ...facts });
const plan = (start: number[], stop: number[] = [], recheckAt?: number): ScalePlan => ({ start, stop, recheckAt });

/** The time of every case. */
const now = 5000;

describe('which workers an elastic pool starts and stops', () => {
  it.each<[string, WorkerFacts[], number, ScaleBounds, ScalePlan]>([
    // Starting: min, then what the waiting tasks fill.
    ['a pool at min: 0 with nothing to do starts nothing', [off, off, off, off], 0, bounds({ min: 0 }), plan([])],
    ['below min, the lowest free indices start', [off, off, off, off], 0, bounds({ min: 2 }), plan([0, 1])],
    ['a task waits while the only worker is full: one more starts', [busy(2), off, off, off], 1, bounds(), plan([1])],
    ['a cold burst starts every worker it fills at once, not one per round trip', [off, off, off, off], 7, bounds({ min: 0 }), plan([0, 1, 2, 3])],
    ['a burst that fills two workers starts two', [busy(2), off, off, off], 4, bounds(), plan([1, 2])],
    ['never more than max', [busy(2), busy(2), off, off], 100, bounds({ max: 3 }), plan([2])],
    ['at max, a waiting task starts nothing', [busy(2), busy(2), busy(2), busy(2)], 9, bounds(), plan([])],
    ['no task is held back for a new worker: a live worker with room takes it', [busy(1), off, off, off], 1, bounds(), plan([])],
    ['a starting worker counts with its room: tasks it will take start nothing more', [busy(2), starting, off, off], 2, bounds(), plan([])],
    ['a new worker takes the lowest free index', [busy(2), off, busy(2), off], 1, bounds(), plan([1])],
    ['tasks waiting for a worker alone take from its room', [targeted(busy(1), 1), off, off, off], 1, bounds(), plan([1])],
    // Targeted puts start their worker.
    ['a put for a worker that is not running starts it', [idle(4900), off, off, targeted(off, 1)], 0, bounds(), plan([3], [], 5900)],
    ['even at min: 0 with nothing else to do', [off, targeted(off, 2), off, off], 0, bounds({ min: 0 }), plan([1])],
    // Stopping: idle for idleTimeout, never below min, highest index first.
    ['a worker idle for idleTimeout stops', [busy(1), idle(4000), off, off], 0, bounds(), plan([], [1])],
    ['a worker idle for less is kept, and looked at again when its time comes', [busy(1), idle(4500), off, off], 0, bounds(), plan([], [], 5500)],
    ['never below min', [idle(0), off, off, off], 0, bounds(), plan([])],
    ['min: 0 stops the last worker', [idle(0), off, off, off], 0, bounds({ min: 0 }), plan([], [0])],
    ['idle workers stop highest index first, down to min', [idle(0), idle(0), idle(0), off], 0, bounds({ min: 2 }), plan([], [2])],
    ['a worker with a put waiting for it is not idle', [busy(1), targeted(idle(0), 1), off, off], 0, bounds(), plan([])],
    ['a starting worker is not idle', [busy(1), starting, off, off], 0, bounds(), plan([])],
    ['while a task waits, nothing stops', [busy(2), busy(2), busy(2), idle(0)], 1, bounds(), plan([])],
    ['the next look is at the earliest idle worker that may still stop', [idle(4200), idle(4600), idle(4400), off], 0, bounds({ min: 1 }), plan([], [], 5200)],
    ['no next look once only min would run', [idle(4200), busy(1), off, off], 0, bounds({ min: 2 }), plan([])],
    // Across hosts: a worker no host serves holds no thread; it is kept only while tasks need it.
    ['a worker no host serves counts with its room while tasks wait: nothing more starts', [busy(2), unserved, off, off], 2, bounds(), plan([])],
    ['a worker no host serves stops at once when no task waits', [busy(1), unserved, off, off], 0, bounds(), plan([], [1])],
    ['workers no host serves stop before idle ones, highest index first, down to min', [idle(0), idle(0), unserved, unserved], 0, bounds({ min: 2 }), plan([], [3, 2])],
    ['a worker no host serves is kept at min (pool.ready waits for it)', [unserved, off, off, off], 0, bounds(), plan([])],
    ['a worker no host serves, with a put waiting for it, is kept', [busy(1), targeted(unserved, 1), off, off], 0, bounds(), plan([])],
    // A fixed pool: min = max.
    ['a fixed pool never stops a worker', [idle(0), idle(0)], 0, bounds({ min: 2, max: 2 }), plan([])],
  ])('%s', (_case, workers, waiting, limits, expected) => {
    expect(planScaling({ workers, waiting, now }, limits)).toEqual(expected);
  });
});

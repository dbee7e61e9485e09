/** The bounds of an elastic pool (`size: { min, max }`, `idleTimeout`). */
export interface ScaleBounds {
  /** Workers that always run. */
  readonly min: number;
  /** Workers that may run at once; indices go from 0 to `max - 1`. */
  readonly max: number;
  /** Tasks one worker holds: `concurrency + queueSize`. */
  readonly capacity: number;
  /** Milliseconds a worker may hold nothing before it is stopped. */
  readonly idleTimeout: number;
}

/** What the policy knows of one worker index. */
export interface WorkerFacts {
  /** A worker runs at this index, or is starting. */
  readonly live: boolean;
  /** Tasks handed to it and not ended. */
  readonly assigned: number;
  /** Tasks for it alone (targeted puts, broadcasts) not yet handed over. */
  readonly targeted: number;
  /** Since when (scheduler ms) it has held nothing; undefined while it holds a task, or has not started yet. */
  readonly idleSince: number | undefined;
  /** It waits for a host to serve it (a cluster's worker no host has a thread for): it holds nothing anywhere yet. */
  readonly unserved?: boolean;
}

/** What the pool looks like now. */
export interface PoolFacts {
  /** One entry per index, `0 … max − 1`. */
  readonly workers: readonly WorkerFacts[];
  /** Tasks any worker may run that may start now but found no worker with room. */
  readonly waiting: number;
  /** Scheduler time, ms. */
  readonly now: number;
}

/** What to do: workers to start and to stop (by index), and when to look again. */
export interface ScalePlan {
  readonly start: readonly number[];
  readonly stop: readonly number[];
  /** When a worker left running will have been idle for `idleTimeout` (scheduler ms); undefined if none will. */
  readonly recheckAt: number | undefined;
}

/**
 * Which workers an elastic pool starts and stops. The rules, in order:
 *
 * 1. A worker that is not running and has tasks for it alone starts.
 * 2. Below `min` running, the lowest free indices start until `min` run.
 * 3. Waiting tasks beyond the room of the running workers (each holds `capacity`, less what it
 *    has and what waits for it alone; a starting worker counts with its room) start as many
 *    workers as they fill, at once, lowest free index first, up to `max`.
 * 4. With no task waiting, a worker that waits for a host to serve it, with nothing waiting for
 *    it alone, stops at once (it holds no host's thread: a host that joins later gets a new one
 *    when tasks wait), highest index first, never below `min`.
 * 5. With no task waiting, a running worker that has held nothing, and had nothing waiting for
 *    it, for `idleTimeout` stops, highest index first, never below `min`.
 * 6. `recheckAt` is the earliest time another running worker will have been idle that long, while
 *    more than `min` would still run.
 */
export function planScaling(pool: PoolFacts, bounds: ScaleBounds): ScalePlan {
  const { workers, waiting, now } = pool;
  const live = workers.map((worker) => worker.live);
  const start: number[] = [];
  const launch = (index: number): void => {
    live[index] = true;
    start.push(index);
  };
  let running = live.filter(Boolean).length;
  const lowestFree = (): number => live.indexOf(false);

  workers.forEach((worker, index) => {
    if (!worker.live && worker.targeted > 0) {
      launch(index);
      running++;
    }
  });
  while (running < bounds.min) {
    launch(lowestFree());
    running++;
  }
  const room = roomOf(workers, bounds.capacity, live);
  for (let need = waiting - room; need > 0 && running < bounds.max; need -= bounds.capacity) {
    launch(lowestFree());
    running++;
  }

  const stop: number[] = [];
  let recheckAt: number | undefined;
  if (waiting === 0) {
    for (let index = workers.length - 1; index >= 0 && running > bounds.min; index--) {
      const worker = workers[index]!;
      if (worker.live && worker.unserved && worker.targeted === 0) {
        stop.push(index);
        running--;
      }
    }
    for (let index = workers.length - 1; index >= 0 && running > bounds.min; index--) {
      const worker = workers[index]!;
      if (!worker.live || worker.unserved || worker.assigned > 0 || worker.targeted > 0 || worker.idleSince === undefined) continue;
      const due = worker.idleSince + bounds.idleTimeout;
      if (due <= now) {
        stop.push(index);
        running--;
      } else if (recheckAt === undefined || due < recheckAt) {
        recheckAt = due;
      }
    }
  }
  return { start, stop, recheckAt: running > bounds.min ? recheckAt : undefined };
}

/**
 * The tasks the running workers (those `live` marks, the facts' own by default) could still be
 * handed: each holds `capacity`, less what it has and what waits for it alone. A starting
 * worker counts with its room, which it fills once ready.
 */
export function roomOf(workers: readonly WorkerFacts[], capacity: number, live: readonly boolean[] = workers.map((worker) => worker.live)): number {
  let room = 0;
  workers.forEach((worker, index) => {
    if (live[index]) room += Math.max(0, capacity - worker.assigned - worker.targeted);
  });
  return room;
}

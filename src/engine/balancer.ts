/**
 * Picks the worker for the next task that any worker may run: the index of one of `size`
 * workers for which `canTake` is true, or -1 if there is none. Called only when a task is
 * ready to go, so a stateful balancer may count its picks.
 */
export type Balancer = (size: number, canTake: (index: number) => boolean, load: (index: number) => number) => number;

/**
 * The default balancer: the least busy worker (tasks handed over plus tasks waiting for it
 * alone); ties go round-robin, starting after the worker picked last.
 */
export function leastBusy(): Balancer {
  let cursor = 0;
  return (size, canTake, load) => {
    let best = -1;
    let bestLoad = Infinity;
    for (let offset = 0; offset < size; offset++) {
      const index = (cursor + offset) % size;
      if (!canTake(index)) continue;
      const busy = load(index);
      if (busy < bestLoad) {
        best = index;
        bestLoad = busy;
      }
    }
    if (best >= 0) cursor = (best + 1) % size;
    return best;
  };
}

import { defineWorker } from 'looppool/worker';

/**
 * `hold`: a task of one value, its `id`, which it yields only when a `release` task of the
 * same worker releases it, or a turn of the loop later if none does. `release`: yields the
 * value of every task held so far and ends them, all in one synchronous call, then blocks the
 * event loop for ever (the pool's silence detector must end the worker).
 */
export type HeldTask = { readonly kind: 'hold'; readonly id: number } | { readonly kind: 'release' };

interface Observer {
  next(value: number): void;
  complete(): void;
}

/** Held tasks, by id, in the order they arrived. */
const held = new Map<number, () => void>();

/** A bare Subscribable (the worker loads no RxJS) that yields `id` when released. */
function hold(id: number): { subscribe(observer: Observer): { unsubscribe(): void } } {
  return {
    subscribe(observer) {
      const release = (): void => {
        clearImmediate(fallback);
        held.delete(id);
        observer.next(id);
        observer.complete();
      };
      const fallback = setImmediate(release);
      held.set(id, release);
      return { unsubscribe: () => (clearImmediate(fallback), held.delete(id)) };
    },
  };
}

export default defineWorker((task: HeldTask) => {
  if (task.kind === 'hold') return hold(task.id);
  for (const release of [...held.values()]) release();
  for (;;);
});

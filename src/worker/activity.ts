import { createHook, executionAsyncResource } from 'node:async_hooks';
import { activeSlot } from '../transport/protocol';

/** Where a task's id is kept on the async resources its code creates. */
const taskKey = Symbol('looppool.task');

/**
 * Keeps `activity[activeSlot]` on the task whose code runs, through its continuations too (the
 * code after an `await`, its timers' callbacks), not only the synchronous call of `process()`:
 * every async resource created while a task's code runs is marked with the task, and each
 * callback of a marked resource sets the slot while it runs. So when several tasks share a
 * worker and one of them blocks the loop after an `await`, the main thread blames that task,
 * not its neighbour.
 *
 * It costs a little on every async continuation of the worker (async hooks enable V8's
 * promise hooks), so it is on only where tasks share a worker (`concurrency` above 1).
 */
export function trackContinuations(activity: Int32Array): void {
  createHook({
    init(_asyncId, _type, _trigger, resource) {
      const task = activity[activeSlot]!;
      if (task !== 0) (resource as Record<symbol, number>)[taskKey] = task;
    },
    before() {
      activity[activeSlot] = (executionAsyncResource() as Record<symbol, number | undefined>)[taskKey] ?? 0;
    },
    after() {
      activity[activeSlot] = 0;
    },
  }).enable();
}

/** What is known of one task whose worker ended under it. */
export interface RunFacts {
  /** The worker had started the task's code; undefined when its port cannot tell. */
  readonly started: boolean | undefined;
  /** The task's code held the worker's event loop when it ended; undefined when its port cannot tell. */
  readonly blocking: boolean | undefined;
  /** The task had already yielded results: running it again would repeat them. */
  readonly yielded: boolean;
  /** The task's input was transferred to the dead worker: there is nothing left to send again. */
  readonly transferred: boolean;
  /** Its timeout started the probe that the worker failed to answer. */
  readonly trigger: boolean;
  /** Runs of this task that used up an attempt so far. */
  readonly attempts: number;
}

/** What is known of how the worker ended. */
export interface ExitFacts {
  /** Killed because it did not answer a probe after a task timed out. */
  readonly unresponsive: boolean;
  /** Some task of the worker was named as the one holding its loop (`blocking`). */
  readonly culpritKnown: boolean;
  /** The `retries` option. */
  readonly retries: number;
}

/** What happens to the task. */
export type Verdict =
  /** Run it again; `charged` when the run counts as one of its attempts. */
  | { readonly action: 'retry'; readonly charged: boolean }
  /** End it with an error: `timeout` is a TaskTimeoutError, the others a WorkerCrashError saying why. */
  | { readonly action: 'reject'; readonly why: 'crashed' | 'timeout' | 'yielded' | 'transferred' };

/**
 * What happens to a task whose worker ended under it. The rules, in order:
 *
 * 1. The culprit is the task named as holding the loop; when none is named and the worker was
 *    killed for not answering, the task whose timeout started the probe.
 * 2. A culprit of an unresponsive worker ends with TaskTimeoutError.
 * 3. A task that already yielded results is not run again: its results are out (WorkerCrashError).
 * 4. A task whose input was transferred is not run again: the input is gone (WorkerCrashError).
 * 5. A run counts as an attempt when the task is the culprit, or when it may have run and no
 *    other culprit is known. A task that never ran, or ran beside a named culprit, goes again
 *    for free.
 * 6. A charged task goes again while it has attempts left (`retries`), else ends with WorkerCrashError.
 */
export function onWorkerExit(run: RunFacts, exit: ExitFacts): Verdict {
  const culprit = run.blocking === true || (exit.unresponsive && !exit.culpritKnown && run.trigger);
  if (exit.unresponsive && culprit) return { action: 'reject', why: 'timeout' };
  if (run.yielded) return { action: 'reject', why: 'yielded' };
  if (run.transferred) return { action: 'reject', why: 'transferred' };
  const charged = culprit || (run.started !== false && !exit.culpritKnown);
  if (!charged) return { action: 'retry', charged: false };
  return run.attempts < exit.retries ? { action: 'retry', charged: true } : { action: 'reject', why: 'crashed' };
}

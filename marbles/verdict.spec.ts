import { onWorkerExit, type ExitFacts, type RunFacts, type Verdict } from '../src/engine/verdict';

/** A task whose worker ended under it, as little as a case needs to say. */
const run = (facts: Partial<RunFacts>): RunFacts => ({
  started: true,
  blocking: undefined,
  yielded: false,
  transferred: false,
  trigger: false,
  attempts: 0,
  ...facts,
});
const crash = (facts: Partial<ExitFacts> = {}): ExitFacts => ({ unresponsive: false, culpritKnown: false, retries: 1, ...facts });

const free: Verdict = { action: 'retry', charged: false };
const charged: Verdict = { action: 'retry', charged: true };
const rejected = (why: 'crashed' | 'timeout' | 'yielded' | 'transferred'): Verdict => ({ action: 'reject', why });

describe('what happens to a task whose worker ended under it', () => {
  it.each<[string, RunFacts, ExitFacts, Verdict]>([
    // Who is charged: the worker names the culprit; a task that never ran goes again for free.
    ['the culprit, with a retry left, goes again and is charged', run({ blocking: true }), crash({ culpritKnown: true }), charged],
    ['the culprit with no retry left ends with WorkerCrashError', run({ blocking: true, attempts: 1 }), crash({ culpritKnown: true }), rejected('crashed')],
    ['a task beside a named culprit goes again for free (defect 2b)', run({ blocking: false }), crash({ culpritKnown: true }), free],
    ['a task that finished but whose end died with the thread goes again for free (defect 1)', run({ started: true, blocking: false }), crash({ culpritKnown: true, retries: 0 }), free],
    ['a task that only waited at the worker goes again for free (defect 2a)', run({ started: false, blocking: false }), crash({ retries: 0 }), free],
    ['with no culprit named, a task that ran is charged', run({ blocking: false }), crash(), charged],
    ['with no culprit named and no retry left, it ends with WorkerCrashError', run({ attempts: 1 }), crash(), rejected('crashed')],
    ['a task the port cannot tell about is charged, unless a culprit is named', run({ started: undefined }), crash(), charged],
    ['a task the port cannot tell about goes free beside a named culprit', run({ started: undefined }), crash({ culpritKnown: true }), free],
    ['retries: 0 rejects the culprit at once', run({ blocking: true }), crash({ culpritKnown: true, retries: 0 }), rejected('crashed')],
    // Killed for not answering after a timeout: the task that blocked the loop timed out.
    ['the task that blocked an unresponsive worker ends with TaskTimeoutError', run({ blocking: true }), crash({ unresponsive: true, culpritKnown: true }), rejected('timeout')],
    ['the trigger of the probe goes free when another task is named as blocking', run({ trigger: true, blocking: false }), crash({ unresponsive: true, culpritKnown: true }), free],
    ['with no task named, the trigger of the probe is blamed', run({ trigger: true }), crash({ unresponsive: true }), rejected('timeout')],
    ['with no task named, a task beside the trigger is charged', run({ trigger: false }), crash({ unresponsive: true }), charged],
    ['a task that never started on an unresponsive worker goes free', run({ started: false }), crash({ unresponsive: true, culpritKnown: true }), free],
    // What cannot go again.
    ['a task that yielded results is not run again, even beside a culprit (defect 3)', run({ yielded: true, blocking: false }), crash({ culpritKnown: true }), rejected('yielded')],
    ['a culprit that yielded results is not run again', run({ yielded: true, blocking: true }), crash({ culpritKnown: true }), rejected('yielded')],
    ['a task whose input was transferred is not run again, even one that never started (defect 6)', run({ started: false, transferred: true }), crash(), rejected('transferred')],
    ['a transferred culprit of an unresponsive worker still timed out', run({ transferred: true, blocking: true }), crash({ unresponsive: true, culpritKnown: true }), rejected('timeout')],
  ])('%s', (_case, facts, exit, verdict) => {
    expect(onWorkerExit(facts, exit)).toEqual(verdict);
  });
});

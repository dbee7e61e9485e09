import { TaskTimeoutError } from '../src/errors';
import { inlinePool, testScheduler } from './support';

describe('timeouts in virtual time', () => {
  it('fails a task past taskTimeout with TaskTimeoutError, cancelling it', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('-----x|');
      const output = cold('a|').pipe(inlinePool(() => slow, { size: 1, taskTimeout: 3 }));
      expectObservable(output).toBe('---#', undefined, expect.objectContaining({ name: 'TaskTimeoutError', index: 0, timeout: 3 }));
      expectSubscriptions(slow.subscriptions).toBe('^--!');
    });
  });

  it('counts a task’s time from when it starts, not while it waits at its worker', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const task = cold('--x|');
      // Each task takes 3 frames, within the limit of 4; the second waits 3 frames at the worker first.
      const output = cold('ab|').pipe(inlinePool(() => task, { size: 1, queueSize: 1, taskTimeout: 4 }));
      expectObservable(output).toBe('--x--x|');
    });
  });

  it('in settle mode, reports the timeout as a record and goes on', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const tasks: Record<string, ReturnType<typeof cold>> = { slow: cold('-----x|'), fast: cold('x|') };
      const output = cold('ab|', { a: 'slow', b: 'fast' }).pipe(
        inlinePool((key: string) => tasks[key]!, { size: 2, taskTimeout: 3, settle: true }),
      );
      expectObservable(output).toBe('-f-(r|)', {
        f: { status: 'fulfilled', value: 'x', input: 'fast', index: 1 },
        r: { status: 'rejected', reason: expect.any(TaskTimeoutError), input: 'slow', index: 0 },
      });
    });
  });
});

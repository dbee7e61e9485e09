import { PoolClosedError, TaskError, type LoopPoolError } from '../src/errors';
import { Job, type JobHost } from '../src/engine/job';
import { ReorderBuffer } from '../src/engine/reorder';
import type { HandedTask, JobOptions, RunOwner, Task, TaskTaker } from '../src/engine/types';

/** A job over no engine: the spec starts its tasks by hand and tells it how they end. */
function setUp(options: Partial<JobOptions>) {
  const output: string[] = [];
  const host: JobHost<string, string> = { enqueue: () => {}, pump: () => {}, detach: () => {}, noteDropped: () => {} };
  const job = new Job<string, string>(
    host,
    {
      next: (value) => output.push(String(value)),
      error: (error) => output.push(`error: ${(error as Error).message}`),
      complete: () => output.push('complete'),
      closed: false,
    },
    { ordered: false, bufferSize: 1024, failFast: true, ...options },
  );
  const handed: Array<Task<string>> = [];
  const taker: TaskTaker<string, string> = {
    handOver(_owner: RunOwner<string, string>, task: Task<string>): HandedTask {
      handed.push(task);
      return { cancel: () => {} };
    },
  };
  /** Starts every task the job lets start now, and returns their inputs. */
  const startAll = (): string[] => {
    const started: string[] = [];
    for (let task = job.nextStartable(); task; task = job.nextStartable()) {
      job.start(task, taker);
      started.push(task.input);
    }
    return started;
  };
  const task = (input: string): Task<string> => handed.find((t) => t.input === input)!;
  const error = (input: string): LoopPoolError => new TaskError(task(input).index, 0, input, new Error(`${input} threw`));
  return { job, output, startAll, task, error };
}

describe('Job: retries after faults', () => {
  it('puts retries back first in line, in input order, whatever order they failed in', () => {
    const { job, startAll, task } = setUp({});
    for (const input of ['a', 'b', 'c', 'd']) job.push(input);
    expect(startAll()).toEqual(['a', 'b', 'c', 'd']);
    job.push('e');
    job.retry(task('c'));
    job.retry(task('a'));
    expect(startAll()).toEqual(['a', 'c', 'e']);
  });

  it('ordered: a failure after an earlier task that goes again still lets the earlier one finish first (defect 4a)', () => {
    const { job, output, startAll, task, error } = setUp({ ordered: true });
    job.push('slow');
    job.push('throws');
    job.end();
    startAll();
    job.failed(task('throws'), error('throws'), 1);
    job.retry(task('slow')); // its worker exited under it
    expect(startAll()).toEqual(['slow']);
    job.result(task('slow'), 'SLOW', 0);
    job.completed(task('slow'));
    expect(output).toEqual(['SLOW', 'error: Task 1 (input: \'throws\') failed on worker 0: Error: throws threw']);
  });

  it('ordered, bufferSize 1: the head goes again even when a later retry failed first (defect 4b)', () => {
    const { job, output, startAll, task } = setUp({ ordered: true, bufferSize: 1 });
    for (const input of ['head', 'middle', 'tail']) job.push(input);
    job.end();
    expect(startAll()).toEqual(['head', 'middle', 'tail']);
    job.result(task('middle'), 'M', 0);
    job.completed(task('middle')); // held: the reorder buffer is full
    job.retry(task('tail'));
    job.retry(task('head'));
    expect(startAll()).toEqual(['head']); // the head may start; the tail waits for room
    job.result(task('head'), 'H', 0);
    job.completed(task('head'));
    expect(startAll()).toEqual(['tail']);
    job.result(task('tail'), 'T', 0);
    job.completed(task('tail'));
    expect(output).toEqual(['H', 'M', 'T', 'complete']);
  });

  it('ordered and failing fast: no input after the failed one starts', () => {
    const { job, startAll, task, error } = setUp({ ordered: true, bufferSize: 1 });
    job.push('a');
    job.push('b');
    expect(startAll()).toEqual(['a', 'b']);
    job.failed(task('b'), error('b'), 0);
    job.push('c');
    expect(startAll()).toEqual([]);
  });
});

describe('Job: the line of inputs that wait', () => {
  it('keeps inputs pushed while none may start, in input order, each under its own index', () => {
    let open = false;
    const { job, startAll, task } = setUp({ mayStart: () => open });
    for (const input of ['a', 'b', 'c']) job.push(input);
    expect(startAll()).toEqual([]);
    expect(job.waiting).toBe(3);
    open = true;
    expect(startAll()).toEqual(['a', 'b', 'c']);
    expect(['a', 'b', 'c'].map((input) => task(input).index)).toEqual([0, 1, 2]);
    expect(job.waiting).toBe(0);
  });

  it('overflow "drop-oldest" drops the inputs that waited longest; those kept keep their indices', () => {
    let open = false;
    const { job, startAll, task } = setUp({ mayStart: () => open, overflow: { size: 2, strategy: 'drop-oldest' } });
    for (const input of ['a', 'b', 'c', 'd']) job.push(input);
    expect(job.waiting).toBe(2);
    open = true;
    expect(startAll()).toEqual(['c', 'd']);
    expect([task('c').index, task('d').index]).toEqual([2, 3]);
  });

  it('keeps each waiting input under its own index across the gaps that drop-newest and targeted inputs leave', () => {
    let open = false;
    const { job, startAll, task } = setUp({ mayStart: () => open, overflow: { size: 3, strategy: 'drop-newest' } });
    job.push('a');
    job.push('t', { target: 0 }); // index 1, queued at its worker, not in the line
    job.push('b');
    job.push('c');
    job.push('dropped'); // index 4: the line is full
    expect(job.waiting).toBe(3);
    open = true;
    expect(startAll()).toEqual(['a', 'b', 'c']);
    job.push('d');
    job.push('e', { settled: () => {} });
    job.push('f');
    expect(startAll()).toEqual(['d', 'e', 'f']);
    expect(['a', 'b', 'c', 'd', 'e', 'f'].map((input) => task(input).index)).toEqual([0, 2, 3, 5, 6, 7]);
    expect(task('e').settled).toBeDefined();
    expect(task('f').settled).toBeUndefined();
  });

  it('keeps the indices of a long line while it is being started (the line is compacted as it empties)', () => {
    let open = false;
    const { job, startAll, task } = setUp({ mayStart: () => open, overflow: { size: 10_000, strategy: 'drop-newest' } });
    const inputs = Array.from({ length: 10_001 }, (_, i) => `i${i}`);
    for (const input of inputs) job.push(input); // the last is dropped
    open = true;
    expect(startAll()).toEqual(inputs.slice(0, 10_000));
    job.push('after');
    expect(startAll()).toEqual(['after']);
    expect([task('i0').index, task('i5000').index, task('i9999').index, task('after').index]).toEqual([0, 5000, 9999, 10_001]);
  });

  it('closed with a reason, tells each waiting input that asked (`settled`) why, in input order', () => {
    const { job, output } = setUp({ mayStart: () => false, failFast: false });
    const heard: string[] = [];
    const settled = (input: string) => (error?: LoopPoolError) => void heard.push(`${input}: ${error?.message}`);
    job.push('a', { settled: settled('a') });
    job.push('b');
    job.push('c', { settled: settled('c') });
    job.close(new PoolClosedError('The pool was terminated'));
    expect(heard).toEqual(['a: The pool was terminated', 'c: The pool was terminated']);
    expect(output).toEqual(['error: The pool was terminated']);
    expect(job.waiting).toBe(0);
  });
});

describe('ReorderBuffer', () => {
  const sink = () => {
    const out: string[] = [];
    return { out, sink: { next: (v: string) => out.push(v), error: (e: unknown) => out.push(`error ${String(e)}`), closed: false } };
  };

  it('emits results in input order and counts what it holds', () => {
    const { out, sink: target } = sink();
    const buffer = new ReorderBuffer<string>(target);
    buffer.next(1, 'b1');
    buffer.complete(1);
    buffer.next(2, 'c1');
    expect(buffer.size).toBe(3);
    expect(out).toEqual([]);
    buffer.next(0, 'a1');
    buffer.complete(0);
    expect(out).toEqual(['a1', 'b1', 'c1']);
    expect(buffer.head).toBe(2);
    expect(buffer.size).toBe(0);
  });

  it('holds a failure until its turn', () => {
    const { out, sink: target } = sink();
    const buffer = new ReorderBuffer<string>(target);
    buffer.error(1, 'boom');
    buffer.next(0, 'a');
    expect(out).toEqual(['a']);
    buffer.complete(0);
    expect(out).toEqual(['a', 'error boom']);
  });
});

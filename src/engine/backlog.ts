import type { TaskTrace } from '../otel/tracing';
import type { PushOptions, Task } from './types';

/** Slots an input takes in a {@link Backlog}: its index, the input, its trace, its push options. */
const stride = 4;

/** Spent slots past which a {@link Backlog} copies what is left to a new array (when they are at least half of it). */
const compactAfter = 1024 * stride;

/**
 * A job's inputs that any worker may run, not yet started, in input order. Each waits as four
 * slots of one array (its index, the input, its trace, its push options), not as a task object:
 * a source that pushes all its inputs at once (the operator over `range` or `from(array)`)
 * then holds nothing an input but the input itself, and the young-generation collector does
 * not copy a task record per input into the old generation for the major collector to sweep
 * later. The task is built when its input comes to the head of the line ({@link peek}), so it
 * lives only while it runs, as the task of an input pulled from an iterable does.
 */
export class Backlog<T> {
  /** {@link stride} slots per input, from `start`. Unbounded: the source pushes (`overflow` bounds it in the job). */
  private items: unknown[] = [];
  /** Position of the first input's slots in `items`; the slots before it are spent. */
  private start = 0;
  /** The task of the first input, once {@link peek} has built it: the same object until it is shifted. */
  private first: Task<T> | undefined;

  /** Inputs waiting. */
  get length(): number {
    return (this.items.length - this.start) / stride;
  }

  /** Puts an input last in line; `trace` and `options` are those of its task (`options.target` unset). */
  push(index: number, input: T, trace: TaskTrace | undefined, options: PushOptions | undefined): void {
    this.items.push(index, input, trace, options);
  }

  /** The first input's task, built once; undefined when none waits. */
  peek(): Task<T> | undefined {
    if (this.first === undefined && this.start < this.items.length) this.first = this.taskAt(this.start);
    return this.first;
  }

  /** Whether `task` is the first input's task, as {@link peek} returned it. */
  isFirst(task: Task<T>): boolean {
    return this.first !== undefined && task === this.first;
  }

  /** Removes the first input and returns its task. */
  shift(): Task<T> | undefined {
    const task = this.peek();
    if (!task) return undefined;
    this.first = undefined;
    const items = this.items;
    for (let at = this.start; at < this.start + stride; at++) items[at] = undefined;
    this.start += stride;
    if (this.start === items.length) {
      this.items = [];
      this.start = 0;
    } else if (this.start >= compactAfter && this.start * 2 >= items.length) {
      this.items = items.slice(this.start);
      this.start = 0;
    }
    return task;
  }

  /**
   * Removes every input. Returns, in input order, the tasks of those whose end someone hears
   * of (a trace, or a `settled` callback); the others end unheard, and no task is built for them.
   */
  clear(): Array<Task<T>> {
    const heard: Array<Task<T>> = [];
    for (let at = this.start; at < this.items.length; at += stride) {
      const trace = this.items[at + 2] as TaskTrace | undefined;
      const options = this.items[at + 3] as PushOptions | undefined;
      if (trace === undefined && options?.settled === undefined) continue;
      heard.push(at === this.start && this.first ? this.first : this.taskAt(at));
    }
    this.items = [];
    this.start = 0;
    this.first = undefined;
    return heard;
  }

  private taskAt(at: number): Task<T> {
    const items = this.items;
    return newTask(items[at] as number, items[at + 1] as T, items[at + 2] as TaskTrace | undefined, items[at + 3] as PushOptions | undefined);
  }
}

/** The task of input `index`, as the job hands it to a worker; every task has this one shape. */
export function newTask<T>(index: number, input: T, trace: TaskTrace | undefined, options: PushOptions | undefined): Task<T> {
  return {
    index,
    input,
    target: options?.target,
    settled: options?.settled,
    sequential: options?.sequential,
    quiet: options?.quiet,
    transfer: options?.transfer,
    attempts: 0,
    trace,
  };
}

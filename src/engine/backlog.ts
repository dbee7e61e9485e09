import type { TaskTrace } from '../otel/tracing';
import type { PushOptions, Task } from './types';

/** Spent slots past which a {@link Backlog} copies what is left to a new array (when they are at least half of it). */
const compactAfter = 4096;

/** What a waiting input has besides itself: its index when it does not follow the one before, its trace, its push options. */
interface Extra {
  readonly index: number;
  readonly trace: TaskTrace | undefined;
  readonly options: PushOptions | undefined;
}

/**
 * A job's inputs that any worker may run, not yet started, in input order. Each waits as one
 * slot of an array holding the input itself, not as a task object: a source that pushes all
 * its inputs at once (the operator over `range` or `from(array)`) then holds nothing per input
 * but the input, and the young-generation collector does not copy a task record per input into
 * the old generation for the major collector to sweep later. An input's index is the one before
 * it plus one; one whose index does not follow, or that has a trace or push options, has an
 * {@link Extra} beside it. The task is built when its input comes to the head of the line
 * ({@link peek}), so it lives only while it runs, as the task of an input pulled from an iterable does.
 */
export class Backlog<T> {
  /** The inputs, from `start`. Unbounded: the source pushes (`overflow` bounds it in the job). */
  private items: T[] = [];
  /** Position of the first input in `items`; the slots before it are spent. */
  private start = 0;
  /** Inputs shifted out so far: the first input's place in the order of all inputs ever pushed, the key of {@link extras}. */
  private shifted = 0;
  /** The inputs that have more than an input, by their place in the order of all inputs ever pushed; at most one per input waiting. */
  private readonly extras = new Map<number, Extra>();
  /** The first input's index, while one waits. */
  private headIndex = 0;
  /** The last input's index, while one waits. */
  private lastIndex = 0;
  /** The task of the first input, once {@link peek} has built it: the same object until it is shifted. */
  private first: Task<T> | undefined;

  /** Inputs waiting. */
  get length(): number {
    return this.items.length - this.start;
  }

  /** Puts an input last in line; `trace` and `options` are those of its task (`options.target` unset). */
  push(index: number, input: T, trace: TaskTrace | undefined, options: PushOptions | undefined): void {
    const empty = this.length === 0;
    if (trace !== undefined || options !== undefined || (!empty && index !== this.lastIndex + 1)) {
      this.extras.set(this.shifted + this.length, { index, trace, options });
    }
    if (empty) this.headIndex = index;
    this.lastIndex = index;
    this.items.push(input);
  }

  /** The first input's task, built once; undefined when none waits. */
  peek(): Task<T> | undefined {
    if (this.first === undefined && this.start < this.items.length) {
      const extra = this.extras.size > 0 ? this.extras.get(this.shifted) : undefined;
      this.first = newTask(this.headIndex, this.items[this.start]!, extra?.trace, extra?.options);
    }
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
    if (this.extras.size > 0) this.extras.delete(this.shifted);
    const items = this.items;
    (items as unknown[])[this.start] = undefined;
    this.start++;
    this.shifted++;
    // An emptied line keeps its array, so that a source pulled one input at a time does not
    // make an array per input; the spent slots go once they are many and at least half of it.
    if (this.start >= compactAfter && this.start * 2 >= items.length) {
      this.items = items.slice(this.start);
      this.start = 0;
    }
    this.headIndex = (this.extras.size > 0 ? this.extras.get(this.shifted)?.index : undefined) ?? task.index + 1;
    return task;
  }

  /**
   * Removes every input. Returns, in input order, the tasks of those whose end someone hears
   * of (a trace, or a `settled` callback); the others end unheard, and no task is built for them.
   */
  clear(): Array<Task<T>> {
    const heard: Array<Task<T>> = [];
    for (const [place, extra] of this.extras) {
      if (extra.trace === undefined && extra.options?.settled === undefined) continue;
      const at = this.start + place - this.shifted;
      heard.push(place === this.shifted && this.first ? this.first : newTask(extra.index, this.items[at]!, extra.trace, extra.options));
    }
    this.shifted += this.length;
    this.items = [];
    this.start = 0;
    this.extras.clear();
    this.first = undefined;
    return heard;
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

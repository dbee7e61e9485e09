import type { RunObserver, TaskAtExit } from './transport';

/** One task handed to a worker and not heard the end of. */
interface Handed<R> {
  readonly observer: RunObserver<R>;
  /** The worker said it started, or sent a result (which says so). */
  started: boolean;
  /** Its input was moved to the worker, not copied: nothing of it is left on this side. */
  readonly transferred: boolean;
}

/** What a port alone can tell of one unfinished task when its worker ends, given its ticket and its position among those left. */
export type TaskFacts = (ticket: number, position: number) => Pick<TaskAtExit<unknown>, 'started' | 'blocking'>;

/** Below this many slots, a window with holes is kept as it is (see {@link Ledger}). */
const spillAfter = 4_096;

/**
 * The tasks a port has handed to its worker and not heard the end of, the one table of them
 * that every port keeps (threads, processes, NATS; a host's, through its thread ports): who waits
 * for each, whether it started, whether its input was moved. A task ends once ({@link end}:
 * the first end wins, a later word of it is dropped); when the worker ends, what is left is
 * listed once ({@link atExit}), with what the port alone can tell of each. Tickets count from
 * 1 in hand-over order, which is the order the worker starts them.
 *
 * Kept in an array by ticket, not a Map: tasks enter in ticket order and mostly leave in it,
 * and a Map that takes and drops a task per tiny task was rehashed over and over (about 60
 * bytes a task each way in a profile of tiny tasks through a host). An ended task leaves a
 * hole until those before it end too; a task that stays long while many after it end would
 * keep every hole behind it, so once holes are three quarters of a window past
 * {@link spillAfter} slots, the tasks still in it move to a Map of their own.
 */
export class Ledger<R> {
  /** Tasks from ticket {@link first} on, at `head + ticket - first`; an ended one is undefined. */
  private slots: Array<Handed<R> | undefined> = [];
  private head = 0;
  /** The ticket at `slots[head]`. */
  private first = 1;
  /** Tasks not ended in {@link slots}. */
  private live = 0;
  /** Tasks not ended from before {@link first}, moved out of a window of holes; by ticket, in ticket order. */
  private readonly spilled = new Map<number, Handed<R>>();
  /** The last ticket given; 0 before the first. */
  private last = 0;

  /** Records a task handed to the worker. @returns its ticket. */
  hand(observer: RunObserver<R>, transferred = false): number {
    const span = this.slots.length - this.head;
    if (span >= spillAfter && this.live * 4 < span) this.spill();
    this.slots.push({ observer, started: false, transferred });
    this.live++;
    return ++this.last;
  }

  /** Whether task `ticket` is handed over and not ended. */
  has(ticket: number): boolean {
    return this.find(ticket) !== undefined;
  }

  /** The observer of task `ticket`, if it has not ended. */
  observer(ticket: number): RunObserver<R> | undefined {
    return this.find(ticket)?.observer;
  }

  /** The worker said task `ticket` started: its observer hears it once. */
  started(ticket: number): void {
    const task = this.find(ticket);
    if (!task || task.started) return;
    task.started = true;
    task.observer.started();
  }

  /** Task `ticket` produced `value` (which says it started). */
  next(ticket: number, value: R): void {
    const task = this.find(ticket);
    if (!task) return;
    task.started = true;
    task.observer.next(value);
  }

  /**
   * Task `ticket` ended (completed, failed, or cancelled): it leaves the ledger.
   * @returns its observer, to tell how it ended; undefined if it had already ended.
   */
  end(ticket: number): RunObserver<R> | undefined {
    if (ticket < this.first) {
      const task = this.spilled.get(ticket);
      if (task) this.spilled.delete(ticket);
      return task?.observer;
    }
    const at = this.head + ticket - this.first;
    const task = at < this.slots.length ? this.slots[at] : undefined;
    if (!task) return undefined;
    this.slots[at] = undefined;
    this.live--;
    if (at === this.head) this.advance();
    return task.observer;
  }

  /** The ticket and observer of every task not ended, in hand-over order. */
  *entries(): IterableIterator<[number, { readonly observer: RunObserver<R> }]> {
    yield* this.spilled;
    for (let at = this.head; at < this.slots.length; at++) {
      const task = this.slots[at];
      if (task) yield [this.first + at - this.head, task];
    }
  }

  /**
   * The worker ended: every task not ended, in hand-over order, with what `facts` tells of it;
   * the ledger is then empty. A task the worker said it started did start. Without `facts` (a
   * worker never ready), none started.
   */
  atExit(facts: TaskFacts = unstarted): Array<TaskAtExit<R>> {
    const tasks: Array<TaskAtExit<R>> = [];
    let position = 0;
    for (const [ticket, task] of this.entries() as IterableIterator<[number, Handed<R>]>) {
      const known = facts(ticket, position++);
      tasks.push({ observer: task.observer, started: task.started || known.started, blocking: known.blocking, transferred: task.transferred });
    }
    this.clear();
    return tasks;
  }

  /** Forgets every task, telling none: the port was terminated. */
  clear(): void {
    this.spilled.clear();
    this.slots = [];
    this.head = 0;
    this.first = this.last + 1;
    this.live = 0;
  }

  private find(ticket: number): Handed<R> | undefined {
    if (ticket < this.first) return this.spilled.get(ticket);
    const at = this.head + ticket - this.first;
    return at < this.slots.length ? this.slots[at] : undefined;
  }

  /** Moves the window past the tasks that ended at its start; drops the spent slots when they are all or half of it. */
  private advance(): void {
    const { slots } = this;
    while (this.head < slots.length && slots[this.head] === undefined) {
      this.head++;
      this.first++;
    }
    if (this.head === slots.length) {
      this.slots = [];
      this.head = 0;
    } else if (this.head >= 1_024 && this.head * 2 >= slots.length) {
      this.slots = slots.slice(this.head);
      this.head = 0;
    }
  }

  /** The window is mostly holes behind a task that stays: its tasks move to {@link spilled}, and the window starts afresh at the next ticket. */
  private spill(): void {
    for (let at = this.head; at < this.slots.length; at++) {
      const task = this.slots[at];
      if (task) this.spilled.set(this.first + at - this.head, task);
    }
    this.slots = [];
    this.head = 0;
    this.first = this.last + 1;
    this.live = 0;
  }
}

const unstarted: TaskFacts = () => ({ started: false, blocking: false });

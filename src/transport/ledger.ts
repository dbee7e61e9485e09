import { TicketWindow } from './ticketWindow';
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

/**
 * The tasks a port has handed to its worker and not heard the end of, the one table of them
 * that every port keeps (threads, processes, NATS; a host's, through its thread ports): who waits
 * for each, whether it started, whether its input was moved. A task ends once ({@link end}:
 * the first end wins, a later word of it is dropped); when the worker ends, what is left is
 * listed once ({@link atExit}), with what the port alone can tell of each. Tickets count from
 * 1 in hand-over order, which is the order the worker starts them.
 */
export class Ledger<R> {
  /** By ticket, in hand-over order; bounded by what the engine hands a worker (its in-flight limit). A window, not a Map: see {@link TicketWindow}. */
  private readonly tasks = new TicketWindow<Handed<R>>();
  /** The last ticket given; 0 before the first. */
  private last = 0;

  /** Records a task handed to the worker. @returns its ticket. */
  hand(observer: RunObserver<R>, transferred = false): number {
    const ticket = ++this.last;
    this.tasks.set(ticket, { observer, started: false, transferred });
    return ticket;
  }

  /** Whether task `ticket` is handed over and not ended. */
  has(ticket: number): boolean {
    return this.tasks.has(ticket);
  }

  /** The observer of task `ticket`, if it has not ended. */
  observer(ticket: number): RunObserver<R> | undefined {
    return this.tasks.get(ticket)?.observer;
  }

  /** The worker said task `ticket` started: its observer hears it once. */
  started(ticket: number): void {
    const task = this.tasks.get(ticket);
    if (!task || task.started) return;
    task.started = true;
    task.observer.started();
  }

  /** Task `ticket` produced `value` (which says it started). */
  next(ticket: number, value: R): void {
    const task = this.tasks.get(ticket);
    if (!task) return;
    task.started = true;
    task.observer.next(value);
  }

  /**
   * Task `ticket` ended (completed, failed, or cancelled): it leaves the ledger.
   * @returns its observer, to tell how it ended; undefined if it had already ended.
   */
  end(ticket: number): RunObserver<R> | undefined {
    const task = this.tasks.get(ticket);
    if (!task) return undefined;
    this.tasks.delete(ticket);
    return task.observer;
  }

  /** The ticket and observer of every task not ended, in hand-over order. */
  entries(): IterableIterator<[number, { readonly observer: RunObserver<R> }]> {
    return this.tasks.entries();
  }

  /**
   * The worker ended: every task not ended, in hand-over order, with what `facts` tells of it;
   * the ledger is then empty. A task the worker said it started did start. Without `facts` (a
   * worker never ready), none started.
   */
  atExit(facts: TaskFacts = unstarted): Array<TaskAtExit<R>> {
    const tasks: Array<TaskAtExit<R>> = [];
    let position = 0;
    for (const [ticket, task] of this.tasks) {
      const known = facts(ticket, position++);
      tasks.push({ observer: task.observer, started: task.started || known.started, blocking: known.blocking, transferred: task.transferred });
    }
    this.tasks.clear();
    return tasks;
  }

  /** Forgets every task, telling none: the port was terminated. */
  clear(): void {
    this.tasks.clear();
  }
}

const unstarted: TaskFacts = () => ({ started: false, blocking: false });

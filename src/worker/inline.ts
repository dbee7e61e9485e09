import { noop } from '../noop';
import { reviveError, serializeError } from '../transport/protocol';
import { Readiness } from '../transport/readiness';
import type { PortListener, Probeable, RunObserver, PortFactory, WorkerPort } from '../transport/transport';
import type { WorkerContext, WorkerDefinition } from './definition';
import { ConcurrencyGate } from './gate';
import { runTask } from './runTask';

/**
 * Runs each "worker" in the calling thread: `process` is called directly and what it returns
 * is the task's result stream. Tasks that return cold observables therefore run in the
 * virtual time of an RxJS `TestScheduler`. Values are passed by reference, not cloned. It is
 * the worker side behind a port, so it lives here, not among the transports (which import
 * nothing of the worker side).
 */
export function inlineTransport<T, R, D>(
  definition: WorkerDefinition<T, R, D>,
  workerData: D,
  concurrency: number,
): PortFactory<T, R> {
  return (index, listener) => new InlinePort(index, definition, workerData, concurrency, listener);
}

/** A task handed to an inline worker and not ended. */
interface InlineRun<R> {
  readonly observer: RunObserver<R>;
  readonly controller: AbortController;
  started: boolean;
  /** Stops the task's output once it runs; takes it out of the gate's queue before. */
  stop: () => void;
}

class InlinePort<T, R, D> implements WorkerPort<T, R>, Probeable {
  private readonly readiness = new Readiness();
  readonly ready = this.readiness.promise;
  /** The worker reports each start as it happens. */
  readonly startsAtOnce = true;
  /** Set once `init` has finished; tasks that arrive earlier wait for `ready`. */
  private initialized = false;
  private stopped = false;
  /** Aborted when the worker stops; `ctx.signal` of `init`. */
  private readonly lifetime = new AbortController();
  /** Runs at most `concurrency` tasks at once, as a thread's runtime does. */
  private readonly gate: ConcurrencyGate;
  /** Tasks handed over and not ended, by ticket, in hand-over order. */
  private readonly running = new Map<number, InlineRun<R>>();
  private lastTicket = 0;

  constructor(
    readonly index: number,
    private readonly definition: WorkerDefinition<T, R, D>,
    private readonly workerData: D,
    concurrency: number,
    private readonly listener: PortListener<R>,
  ) {
    this.gate = new ConcurrencyGate(concurrency);
    this.initialize();
  }

  run(task: T, observer: RunObserver<R>): number {
    const ticket = ++this.lastTicket;
    const run: InlineRun<R> = { observer, controller: new AbortController(), started: false, stop: noop };
    this.running.set(ticket, run);
    if (this.initialized) this.enter(ticket, run, task);
    else this.ready.then(() => this.enter(ticket, run, task), noop);
    return ticket;
  }

  cancel(ticket: number): void {
    const run = this.running.get(ticket);
    if (!run) return;
    this.running.delete(ticket);
    run.controller.abort();
    run.stop();
    if (run.started) this.gate.leave();
  }

  /** An inline worker's loop is the caller's: if the caller can ask, the worker answers. */
  probe(answered: () => void): void {
    answered();
  }

  /** Stops every task as a thread's death would, and reports the worker as crashed. */
  kill(): void {
    if (this.stopped) return;
    const running = this.stop();
    this.listener.exited({
      kind: 'crashed',
      crash: 'unresponsive',
      exitCode: 1,
      tasks: running.map(({ observer, started }) => ({ observer, started, blocking: undefined, transferred: false })),
    });
  }

  async terminate(): Promise<void> {
    if (this.stopped) return;
    this.readiness.terminated();
    this.stop();
  }

  /** As a thread's runtime does on stop: every task's signal is aborted, its output stopped. @returns the tasks it had. */
  private stop(): Array<InlineRun<R>> {
    this.stopped = true;
    this.lifetime.abort();
    const running = [...this.running.values()];
    this.running.clear();
    for (const run of running) {
      run.controller.abort();
      run.stop();
    }
    return running;
  }

  private initialize(): void {
    let initializing: void | PromiseLike<void>;
    try {
      initializing = this.definition.init?.(this.context(this.lifetime.signal));
    } catch (error) {
      queueMicrotask(() => this.initFailed(error)); // not before the constructor has returned
      return;
    }
    if (initializing && typeof initializing.then === 'function') {
      Promise.resolve(initializing).then(
        () => this.initDone(),
        (error: unknown) => this.initFailed(error),
      );
      return;
    }
    this.initDone();
  }

  private initDone(): void {
    this.initialized = true;
    this.readiness.resolve();
  }

  /** Queues the task at the gate; it starts when a place is free. */
  private enter(ticket: number, run: InlineRun<R>, task: T): void {
    if (this.stopped || !this.running.has(ticket)) return;
    const withdraw = this.gate.enter(() => this.begin(ticket, run, task));
    if (!run.started) run.stop = withdraw;
  }

  private begin(ticket: number, run: InlineRun<R>, task: T): void {
    run.started = true;
    run.observer.started();
    if (!this.running.has(ticket)) return; // ended in `started` (the engine cancelled it)
    const end = (): boolean => {
      if (!this.running.delete(ticket)) return false;
      this.gate.leave();
      return true;
    };
    const stop = runTask(() => this.definition.process(task, this.context(run.controller.signal)), {
      next: (value) => this.running.has(ticket) && run.observer.next(value),
      error: (error) => end() && run.observer.error({ kind: 'threw', error: asError(error) }),
      complete: () => end() && run.observer.complete(),
    });
    if (this.running.has(ticket)) run.stop = stop;
  }

  private context(signal: AbortSignal): WorkerContext<D, R> {
    return {
      index: this.index,
      workerData: this.workerData,
      emit: (value) => this.stopped || this.listener.emitted(value),
      signal,
    };
  }

  private initFailed(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    const tasks = [...this.running.values()].map(({ observer }) => ({ observer, started: false, blocking: false, transferred: false }));
    this.running.clear();
    const exit = { kind: 'load', reason: 'init threw', exitCode: 1, error: asError(error), tasks } as const;
    this.readiness.fail(exit);
    this.listener.exited(exit);
  }
}

/** The inline counterpart of an error crossing threads: Errors stay themselves, anything else becomes one. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : reviveError(serializeError(error));
}


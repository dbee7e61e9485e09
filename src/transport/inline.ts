import { Observable, type Subscriber } from 'rxjs';
import type { WorkerContext, WorkerDefinition } from '../worker/definition';
import { ConcurrencyGate } from '../worker/gate';
import { runTask } from '../worker/runTask';
import { reviveError, serializeError } from './protocol';
import type { PortListener, Transport, WorkerPort, WorkerSample } from './transport';

/**
 * Runs each "worker" in the calling thread: `process` is called directly and what it returns
 * is the task's result stream. Tasks that return cold observables therefore run in the
 * virtual time of an RxJS `TestScheduler`. Values are passed by reference, not cloned.
 */
export function inlineTransport<T, R, D>(
  definition: WorkerDefinition<T, R, D>,
  workerData: D,
  concurrency: number,
): Transport<T, R> {
  return (index, listener) => new InlinePort(index, definition, workerData, concurrency, listener);
}

class InlinePort<T, R, D> implements WorkerPort<T, R> {
  readonly ready: Promise<void>;
  /** Set once `init` has finished; tasks that arrive earlier wait for `ready`. */
  private initialized = false;
  private stopped = false;
  /** Aborted when the worker stops; `ctx.signal` of `init`. */
  private readonly lifetime = new AbortController();
  /** Runs at most `concurrency` tasks at once, as a thread's runtime does. */
  private readonly gate: ConcurrencyGate;
  /** Tasks handed over and not finished, with the means to stop each: what `kill` ends. */
  private readonly running = new Map<Subscriber<R>, () => void>();

  constructor(
    readonly index: number,
    private readonly definition: WorkerDefinition<T, R, D>,
    private readonly workerData: D,
    concurrency: number,
    private readonly listener: PortListener<R>,
  ) {
    this.gate = new ConcurrencyGate(concurrency);
    this.ready = this.initialize();
    this.ready.catch(() => {}); // the failure is reported through the listener
  }

  private initialize(): Promise<void> {
    let initializing: void | PromiseLike<void>;
    try {
      initializing = this.definition.init?.(this.context(this.lifetime.signal));
    } catch (error) {
      return this.initFailed(error);
    }
    if (initializing && typeof initializing.then === 'function') {
      return Promise.resolve(initializing).then(
        () => void (this.initialized = true),
        (error: unknown) => this.initFailed(error),
      );
    }
    this.initialized = true;
    return Promise.resolve();
  }

  get isReady(): boolean {
    return this.initialized;
  }

  run(task: T): Observable<R> {
    return new Observable<R>((subscriber) => {
      const controller = new AbortController();
      let stop = noop;
      let withdraw = noop;
      let started = false;
      let finished = false;
      /** The task is over: free its place at the gate, if it had one. */
      const finish = (): void => {
        finished = true;
        this.running.delete(subscriber);
        if (started) this.gate.leave();
      };
      const begin = (): void => {
        if (finished || this.stopped) return;
        withdraw = this.gate.enter(() => {
          started = true;
          stop = runTask(() => this.definition.process(task, this.context(controller.signal)), {
            next: (value) => subscriber.next(value),
            error: (error) => {
              finished = true;
              this.running.delete(subscriber);
              subscriber.error({ kind: 'threw', error: asError(error) });
              this.gate.leave();
            },
            complete: () => {
              finished = true;
              this.running.delete(subscriber);
              subscriber.complete();
              this.gate.leave();
            },
          });
        });
      };
      const cancel = (): void => {
        if (finished) return;
        if (!started) {
          withdraw();
          finished = true;
          this.running.delete(subscriber);
          return;
        }
        controller.abort();
        stop();
        finish();
      };
      this.running.set(subscriber, cancel);
      if (this.initialized) begin();
      else this.ready.then(begin, noop);
      return cancel;
    });
  }

  /** An inline worker runs on the caller's loop: there is nothing of its own to measure. */
  async sample(): Promise<WorkerSample> {
    return { elu: undefined, figures: undefined };
  }

  /** An inline worker cannot block without blocking its caller. */
  blocked(): undefined {
    return undefined;
  }

  /** An inline worker's loop is the caller's: if the caller can ask, the worker answers. */
  ping(answered: () => void): void {
    answered();
  }

  /** Stops every task as a thread's death would, and reports the worker as crashed. */
  kill(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.lifetime.abort();
    // Newest first, so that ending a running task never starts a waiting one.
    const running = [...this.running].reverse();
    this.running.clear();
    for (const [subscriber, cancel] of running) {
      cancel();
      subscriber.error({ kind: 'crashed', exitCode: 1, reason: 'unresponsive' });
    }
    this.listener.failed({ kind: 'crashed', exitCode: 1, reason: 'unresponsive' });
  }

  async terminate(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.lifetime.abort();
  }

  private context(signal: AbortSignal): WorkerContext<D, R> {
    return {
      index: this.index,
      workerData: this.workerData,
      emit: (value) => this.stopped || this.listener.emitted(value),
      signal,
    };
  }

  private initFailed(error: unknown): Promise<never> {
    const failure = { kind: 'load', reason: 'init threw', error: asError(error) } as const;
    this.listener.failed(failure);
    return Promise.reject(failure);
  }
}

/** The inline counterpart of an error crossing threads: Errors stay themselves, anything else becomes one. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : reviveError(serializeError(error));
}

function noop(): void {}

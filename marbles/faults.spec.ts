import type { Observable, OperatorFunction } from 'rxjs';
import type { Settled } from '../src/results';
import { poolPerSubscription } from '../src/loopPool';
import type { LoopPoolOptions } from '../src/options';
import { resolveOptions } from '../src/resolveOptions';
import { inlineTransport } from '../src/worker/inline';
import type { Probeable, RunObserver, PortFactory, WorkerPort } from '../src/transport/transport';
import { testScheduler } from './support';

/** What a fault-injecting port does to the worker of one generation (the first is 0). */
interface Fault {
  /** Dies (exits with code 7) once this many results have come out, blaming the task that produced the last. */
  readonly dieAfterResults?: number;
  /** Dies before it is ready: its tasks never started. */
  readonly dieBeforeReady?: boolean;
  /** Never answers a probe: a task that spins. */
  readonly deaf?: boolean;
}

/**
 * The inline transport with faults injected: each worker generation of each slot follows the
 * next entry of `plan` (none: a healthy worker). Deterministic, in virtual time.
 */
function faultyInline<T, R>(work: (task: T) => Observable<R>, plan: Fault[]): PortFactory<T, R> {
  const inner = inlineTransport<T, R, unknown>({ process: work }, undefined, 1);
  let generation = 0;
  return (index, listener) => {
    const fault = plan[generation++] ?? {};
    let results = 0;
    let dead = false;
    const observers = new Map<number, { observer: RunObserver<R>; started: boolean }>();
    const die = (blocking: RunObserver<R> | undefined): void => {
      dead = true;
      const tasks = [...observers.values()].map(({ observer, started }) => ({ observer, started, blocking: observer === blocking, transferred: false }));
      observers.clear();
      void port.terminate();
      listener.exited({ kind: 'crashed', crash: 'exited', exitCode: 7, tasks });
    };
    const port = inner(index, listener) as WorkerPort<T, R> & Probeable;
    const wrapped: WorkerPort<T, R> & Probeable = {
      index,
      startsAtOnce: true,
      ready: fault.dieBeforeReady ? new Promise<void>(() => {}) : port.ready,
      run(task, observer) {
        let ticket = 0;
        const entry = { observer, started: false };
        const watched: RunObserver<R> = {
          started: () => {
            entry.started = true;
            observer.started();
          },
          next: (value) => {
            if (dead) return;
            observer.next(value);
            if (++results === fault.dieAfterResults) die(observer);
          },
          complete: () => dead || (observers.delete(ticket), observer.complete()),
          error: (failure) => dead || (observers.delete(ticket), observer.error(failure)),
        };
        ticket = port.run(task, watched);
        if (!dead) observers.set(ticket, entry);
        return ticket;
      },
      cancel: (ticket) => {
        observers.delete(ticket);
        port.cancel(ticket);
      },
      probe: (answered) => fault.deaf || port.probe(answered),
      kill: () => {
        dead = true;
        const tasks = [...observers.values()].map(({ observer, started }) => ({ observer, started, blocking: undefined, transferred: false }));
        observers.clear();
        void port.terminate();
        listener.exited({ kind: 'crashed', crash: 'unresponsive', exitCode: 1, tasks });
      },
      terminate: () => port.terminate(),
    };
    if (fault.dieBeforeReady) queueMicrotask(() => die(undefined));
    return wrapped;
  };
}

function pool<T, R>(transport: PortFactory<T, R>, options: LoopPoolOptions<unknown, T>): OperatorFunction<T, R> {
  return poolPerSubscription(() => transport, resolveOptions(options, 'operator'), 'faulty inline');
}

describe('faults injected into the inline transport, through the real engine', () => {
  it('a stream whose worker dies after it yielded values is not run again: its values once, then WorkerCrashError', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const stream = cold('a-b-c|');
      const output = cold('x|').pipe(pool(faultyInline(() => stream, [{ dieAfterResults: 2 }]), { size: 1 }));
      expectObservable(output).toBe('a-(b#)', undefined, expect.objectContaining({ name: 'WorkerCrashError', index: 0 }));
    });
  });

  it('a task that only waited at a worker that died goes again for free on the replacement', () => {
    testScheduler().run(({ cold, flush }) => {
      const tasks: Record<string, Observable<string>> = { a: cold('-A|'), b: cold('-B|') };
      const seen: string[] = [];
      cold('ab|')
        .pipe(pool(faultyInline((key: string) => tasks[key]!, [{ dieAfterResults: 1 }]), { size: 1, queueSize: 1, retries: 0, settle: true }))
        .subscribe({ next: (record) => seen.push(`${(record as unknown as Settled<string, string>).status} ${(record as unknown as Settled<string, string>).index}`), complete: () => seen.push('complete') });
      flush();
      // The first worker dies on a's result (a yielded it: not run again); b had only waited there.
      expect(seen).toEqual(['fulfilled 0', 'rejected 0', 'fulfilled 1', 'complete']);
    });
  });

  it('a worker that dies before its readiness is seen: its tasks never started and go again for free', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const task = cold('-x|');
      const output = cold('aa|').pipe(pool(faultyInline(() => task, [{ dieBeforeReady: true }]), { size: 1, retries: 0 }));
      expectObservable(output).toBe('-x-x|');
    });
  });

  it('a worker that never answers a probe is killed after gracePeriod; the trigger times out, the worker is replaced', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const tasks: Record<string, Observable<string>> = { spin: cold('-------|'), after: cold('-A|') };
      const output = cold('s-a|', { s: 'spin', a: 'after' }).pipe(
        pool(faultyInline((key: string) => tasks[key]!, [{ deaf: true }]), { size: 1, taskTimeout: 3, gracePeriod: 2, settle: true }),
      );
      // spin times out at 3, is killed at 5; 'after' waited at the worker and runs on the replacement.
      expectObservable(output).toBe('-----ra|', {
        r: expect.objectContaining({ status: 'rejected', index: 0, reason: expect.objectContaining({ name: 'TaskTimeoutError' }) }),
        a: { status: 'fulfilled', value: 'A', input: 'after', index: 1 },
      });
    });
  });
});

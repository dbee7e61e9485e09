import type { Unsubscribable } from 'rxjs';
import type { TaskOutput } from './definition';
import { noop } from '../noop';

/**
 * The interop key of Observables, as RxJS defines it. Spelled out rather than imported so
 * that a worker (a thread, a process, a host's thread) does not load RxJS (about 60 ms of
 * every worker's start-up).
 */
const observableSymbol: PropertyKey = (typeof Symbol === 'function' && (Symbol as { observable?: symbol }).observable) || '@@observable';

/** Where one task's results go. */
export interface TaskSink<R> {
  next(value: R): void;
  error(error: unknown): void;
  complete(): void;
  /**
   * Calls `pull` once the sink takes another value: now, or when the consumer has caught up
   * (see `StreamCredit`). An AsyncIterable is read only through it; without it, at once.
   */
  whenReady?(pull: () => void): void;
}

/**
 * Runs one task handler and streams what it returns into `sink`: a value (one result), a
 * Promise, an Observable (anything with `subscribe`, or `Symbol.observable`) or an
 * AsyncIterable. Shared by the worker runtime (threads, processes, hosts) and the inline
 * port, so all read task outputs the same way.
 *
 * @returns a function that stops the task's output; after it, `sink` hears nothing more. For
 *   an AsyncIterable it returns a promise that settles once the iterator's `return()` has (the
 *   generator's `finally` blocks have run).
 */
export function runTask<R>(produce: () => TaskOutput<R>, sink: TaskSink<R>): StopTask {
  let output: TaskOutput<R>;
  try {
    output = produce();
  } catch (error) {
    sink.error(error);
    return noop;
  }
  if (isObject(output)) {
    const interop = (output as unknown as Record<PropertyKey, unknown>)[observableSymbol];
    if (typeof interop === 'function') return subscribeTo(interop.call(output) as Subscribable<R>, sink);
    if (typeof (output as Partial<Subscribable<R>>).subscribe === 'function') {
      return subscribeTo(output as Subscribable<R>, sink);
    }
    if (typeof (output as Partial<PromiseLike<R>>).then === 'function') return awaitPromise(output as PromiseLike<R>, sink);
    if (typeof (output as Partial<AsyncIterable<R>>)[Symbol.asyncIterator] === 'function') {
      return iterate(output as AsyncIterable<R>, sink);
    }
  }
  sink.next(output as R);
  sink.complete();
  return noop;
}

/** Stops a task's output; for an AsyncIterable, settles once its `finally` blocks have run. */
export type StopTask = () => Promise<void> | void;

interface Subscribable<R> {
  subscribe(observer: TaskSink<R>): Unsubscribable;
}

function subscribeTo<R>(source: Subscribable<R>, sink: TaskSink<R>): () => void {
  let stopped = false;
  // The subscription may end synchronously, before `subscribe` returns.
  const subscription = source.subscribe({
    next: (value) => stopped || sink.next(value),
    error: (error) => stopped || ((stopped = true), sink.error(error)),
    complete: () => stopped || ((stopped = true), sink.complete()),
  });
  if (stopped) {
    subscription.unsubscribe();
    return noop;
  }
  return () => {
    stopped = true;
    subscription.unsubscribe();
  };
}

function awaitPromise<R>(promise: PromiseLike<R>, sink: TaskSink<R>): () => void {
  let stopped = false;
  promise.then(
    (value) => {
      if (stopped) return;
      sink.next(value);
      sink.complete();
    },
    (error: unknown) => stopped || sink.error(error),
  );
  return () => {
    stopped = true;
  };
}

function iterate<R>(iterable: AsyncIterable<R>, sink: TaskSink<R>): StopTask {
  let stopped = false;
  let iterator: AsyncIterator<R>;
  try {
    iterator = iterable[Symbol.asyncIterator]();
  } catch (error) {
    sink.error(error);
    return noop;
  }
  const step = (): void => {
    let next: Promise<IteratorResult<R>>;
    try {
      next = Promise.resolve(iterator.next());
    } catch (error) {
      sink.error(error);
      return;
    }
    next.then(
      (result) => {
        if (stopped) return;
        if (result.done) {
          stopped = true;
          return sink.complete();
        }
        sink.next(result.value);
        if (stopped) return;
        if (sink.whenReady) sink.whenReady(pull);
        else step();
      },
      (error: unknown) => stopped || ((stopped = true), sink.error(error)),
    );
  };
  /** `step`, unless the task was stopped while it waited for credit. */
  const pull = (): void => {
    if (!stopped) step();
  };
  step();
  return () => {
    if (stopped) return;
    stopped = true;
    // Runs the generator's `finally` blocks; a rejection here has no one left to hear it.
    return Promise.resolve(iterator.return?.()).then(noop, noop);
  };
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

import { from, type ObservableInput, type Subscriber } from 'rxjs';
import type { LoopPoolError } from '../errors';
import type { AckMode, ResolvedPipelineOptions } from '../options';
import { show } from '../validate';
import type { Engine } from './engine';
import { asyncIterableFeed, iterableFeed } from './feeds';
import type { Delivery } from '../results';
import { Consumption } from './consumption';
import { StallWatch, type StallSettings } from './stallWatch';

/** What a pipeline can take its inputs from. Observables push; the others are pulled. */
export type PipelineInput<T> = ObservableInput<T> | Iterable<T> | AsyncIterable<T>;

/** How a pipeline runs: its ordering and bounds, and how its results are acknowledged. */
export interface PipelineSettings extends ResolvedPipelineOptions {
  readonly ack: AckMode;
  /** Inputs an async source may have read ahead of the workers. */
  readonly readAhead: number;
  /** With `ack: 'manual'`: when and where to warn of a sink that holds every place. */
  readonly stall?: StallSettings | undefined;
}

/** A running pipeline, as its owner sees it. */
export interface PipelineHandle {
  /** Stop taking inputs and finish those taken; then error with `reason` if the source had more. */
  stopInputs(reason: LoopPoolError): void;
  /** End at once: cancel every task, stop reading. */
  teardown(): void;
}

/**
 * Runs the inputs of `input` as one job on `engine`, its results going to `subscriber`.
 *
 * An Observable is subscribed to and pushes; its inputs wait in the job's buffer (bounded by
 * `overflow`, if set). An iterable or async iterable is pulled: the next input is read only
 * when a worker can take it, or a starting one will (sync), or when fewer than `readAhead`
 * wait (async), so memory stays flat however long the source. With `ack: 'manual'` results
 * are `Delivery`s, and no new task starts while `bufferSize` results are unacknowledged or on
 * their way.
 */
export function runPipeline<T, R>(
  engine: Engine<T, R>,
  input: PipelineInput<T>,
  subscriber: Subscriber<R> | Subscriber<Delivery<R>>,
  settings: PipelineSettings,
): PipelineHandle {
  /** Set when the pipeline was stopped before its source ended: the error it ends with. */
  let cutShort: LoopPoolError | undefined;
  const emit = subscriber as Subscriber<R | Delivery<R>>;
  /** Manual acks: results emitted and not yet done, which with the running tasks stay within `bufferSize`. */
  const acks =
    settings.ack === 'manual'
      ? new Consumption(settings.bufferSize, () => {
          stall?.changed();
          engine.pump();
        })
      : undefined;
  const stall = acks && settings.stall ? new StallWatch(settings.bufferSize, settings.stall, () => acks.pending, () => job.waiting) : undefined;
  const job = engine.open(
    {
      next: (value, worker, receipt) => {
        if (!acks) {
          emit.next(value);
          return receipt.taken();
        }
        emit.next(acks.delivery(value, worker, receipt));
        stall?.changed();
      },
      error: (error) => {
        stall?.stop();
        emit.error(error);
      },
      complete: () => {
        stall?.stop();
        if (cutShort) emit.error(cutShort);
        else emit.complete();
      },
      get closed() {
        return emit.closed;
      },
    },
    { ...settings, failFast: true, mayStart: acks && (() => acks.mayStart(job.active)) },
  );
  let stopPushing = (): void => {};
  if (isPulled(input)) {
    job.pullFrom(
      Symbol.asyncIterator in input
        ? asyncIterableFeed(job, input as AsyncIterable<T>, settings.readAhead)
        : iterableFeed(job, input as Iterable<T>),
    );
  } else {
    const subscription = from(input).subscribe({
      next: (value) => job.push(value),
      error: (error: unknown) => emit.error(error),
      complete: () => job.end(),
    });
    stopPushing = () => subscription.unsubscribe();
  }
  return {
    stopInputs(reason) {
      stopPushing();
      if (!job.inputsDone) cutShort = reason;
      stall?.drain();
      job.end();
    },
    teardown() {
      stopPushing();
      stall?.stop();
      job.close();
    },
  };
}

/** Iterables and async iterables are pulled; Observables, Promises and anything else `from` takes push. */
function isPulled<T>(input: PipelineInput<T>): input is Iterable<T> | AsyncIterable<T> {
  if (input === null || (typeof input !== 'object' && typeof input !== 'string')) {
    throw new TypeError(`Expected an Observable, an iterable or an async iterable, got ${show(input)}`);
  }
  const candidate = input as unknown as Partial<Record<symbol | string, unknown>>;
  if (typeof candidate.subscribe === 'function' || typeof candidate.then === 'function') return false;
  return typeof candidate[Symbol.asyncIterator] === 'function' || typeof candidate[Symbol.iterator] === 'function';
}

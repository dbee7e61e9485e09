import { Observable, Subject, type Subscriber } from 'rxjs';
import { Engine } from './engine/engine';
import type { Job } from './engine/job';
import type { PushOptions, Settled } from './engine/types';
import { runPipeline, type PipelineHandle, type PipelineInput, type PipelineSettings } from './engine/pipeline';
import { ResultBuffer, type Delivery } from './engine/resultBuffer';
import { LoopPoolError, PoolClosedError, WorkerCrashError, WorkerLoadError } from './errors';
import {
  resolveOptions,
  resolvePipelineOptions,
  show,
  type AckMode,
  type PipelineOptions,
  type PoolOptions,
  type ResolvedOptions,
} from './options';
import type { Transport } from './transport/transport';
import { stopOnSignals } from './signals';
import { resolveWorkerSource, type WorkerSource } from './workerSource';

export type { Delivery } from './engine/resultBuffer';
export type { PipelineInput } from './engine/pipeline';
export type { Settled } from './engine/types';

/** Options of `pool.process`: a pipeline's options, and how its results are acknowledged. */
export interface ProcessOptions extends PipelineOptions {
  /**
   * `'manual'`: results come as `Delivery`s, and no new task starts while `bufferSize` of them
   * are not yet `done()`: backpressure into a slow asynchronous sink.
   * @default 'auto'
   */
  ack?: AckMode;
}

/** Where `put` sends a task. */
export interface PutOptions {
  /** Index of the only worker that may run the task (Looppool's `worker_num`). */
  worker?: number;
}

/** Options of `broadcast`. */
export interface BroadcastOptions {
  /**
   * Broadcasts that share a key replace one another in the history that a replacement worker
   * replays: a table refreshed every minute is replayed once, at its latest.
   */
  key?: string;
}

/** Counts of one worker. */
export interface WorkerStats {
  readonly index: number;
  /** Tasks running on the worker; at most `concurrency`. */
  readonly inFlight: number;
  /** Tasks handed to the worker and waiting there for a free place; at most `queueSize`. */
  readonly queued: number;
  /** Tasks for this worker alone (targeted puts, broadcasts) not yet handed over. */
  readonly waiting: number;
  /** Times the worker was replaced after a crash. */
  readonly restarts: number;
}

/** A snapshot of the pool's counts, from `pool.stats()`. */
export interface PoolStats {
  readonly size: number;
  readonly workers: readonly WorkerStats[];
  /** Inputs waiting for any worker (puts and pipelines). Unbounded: sources push. */
  readonly waiting: number;
  /** Results produced and not yet consumed from `results$`; no put task starts while this reaches `bufferSize`. */
  readonly pendingResults: number;
  /** Inputs dropped by an `overflow` strategy, since the pool started. */
  readonly dropped: number;
}

/**
 * A long-lived pool of worker threads fed by messages (Looppool's `Pool`). Results of `put`
 * and `broadcast` tasks, and values workers send with `ctx.emit`, come out of `results$`.
 */
export interface LoopPool<T, R, Out = R> {
  /** Worker threads. */
  readonly size: number;
  /** Resolves when every worker has run `init`; rejects with `WorkerLoadError` if one cannot. */
  readonly ready: Promise<void>;
  /**
   * Every result of `put` and `broadcast` tasks and every `ctx.emit` value, from every
   * worker: `R`s, or `Delivery<R>`s with `ack: 'manual'`. Hot; results produced while nobody
   * is subscribed wait in the result buffer. Completes after `stop()` or `terminate()`, once
   * the buffer is empty; errors if the pool fails (a worker cannot load).
   */
  readonly results$: Observable<Out>;
  /**
   * Every error of `put` and `broadcast` tasks, and of the pool (a value sent with
   * `ctx.emit` that cannot be cloned). Hot.
   */
  readonly errors$: Observable<LoopPoolError>;
  /**
   * Queues a task; its results come out of `results$`. With `worker`, only that worker runs
   * it; otherwise the least busy worker does.
   * @returns a Promise that resolves when the task has finished, or rejects with its error.
   *   The rejection is unhandled only if nobody observes it or `errors$` either.
   * @throws PoolClosedError after `stop()` or `terminate()`; RangeError for a bad `worker`.
   */
  put(task: T, options?: PutOptions): Promise<void>;
  /**
   * Runs `task` once on every worker, in the order broadcasts were made, even while workers
   * are busy. A worker that is replaced later gets the broadcasts again, in order, before
   * any new task.
   * @returns a Promise that resolves when every worker has run it.
   */
  broadcast(task: T, options?: BroadcastOptions): Promise<void>;
  /**
   * Runs every input of `input` on the pool and returns the results, like `loopPool(pool)`,
   * but pulls its inputs: an iterable or async iterable (a generator, a Node `Readable` in
   * object mode) is read only as workers have room, so memory stays flat however long it is.
   * An Observable pushes; `overflow` bounds what waits. Cold: each subscription reads the
   * input anew (a generator can be read once).
   */
  process(input: PipelineInput<T>, options: ProcessOptions & { settle: true; ack: 'manual' }): Observable<Delivery<Settled<T, R>>>;
  process(input: PipelineInput<T>, options: ProcessOptions & { settle: true }): Observable<Settled<T, R>>;
  process(input: PipelineInput<T>, options: ProcessOptions & { ack: 'manual' }): Observable<Delivery<R>>;
  process(input: PipelineInput<T>, options?: ProcessOptions): Observable<R>;
  /** The pool's counts now. */
  stats(): PoolStats;
  /**
   * Graceful stop (Looppool's PoisonPill): new tasks fail with `PoolClosedError`; every
   * queued and running task finishes and its results reach the buffer; then the threads end.
   * Pipelines stop taking input, finish what they took, then complete (or error with
   * `PoolClosedError` if their source had not completed). Idempotent.
   */
  stop(): Promise<void>;
  /** Stops at once; unfinished tasks fail with `PoolClosedError`. Idempotent. */
  terminate(): Promise<void>;
}

/**
 * Starts a long-lived pool of `size` worker threads, at once.
 *
 * ```ts
 * const pool = createPool<string, [string, string]>('./fetch.worker.js', 4);
 * pool.results$.subscribe(([url, server]) => console.log(url, server));
 * urls.forEach((url) => pool.put(url));
 * await pool.stop();
 * ```
 *
 * @param worker the worker module, as for `loopPool`, or an `inlineWorker` in tests.
 * @param sizeOrOptions the number of workers, or {@link PoolOptions}.
 * @throws TypeError or RangeError at once for an invalid argument.
 */
export function createPool<T, R>(
  worker: WorkerSource<T, R>,
  options: PoolOptions & { ack: 'manual' },
): LoopPool<T, R, Delivery<R>>;
export function createPool<T, R>(worker: WorkerSource<T, R>, sizeOrOptions?: number | PoolOptions): LoopPool<T, R>;
export function createPool<T, R>(
  worker: WorkerSource<T, R>,
  sizeOrOptions?: number | PoolOptions,
): LoopPool<T, R, R | Delivery<R>> {
  const { transport, name } = resolveWorkerSource<T, R>(worker);
  const options = resolveOptions(sizeOrOptions, 'pool');
  return new Pool<T, R>(transport(options), options, name);
}

/** @internal The pool behind `createPool`, and what `loopPool(pool)` attaches to. */
export class Pool<T, R> implements LoopPool<T, R, R | Delivery<R>> {
  readonly ready: Promise<void>;
  readonly results$: Observable<R | Delivery<R>>;
  private readonly errorSubject = new Subject<LoopPoolError>();
  readonly errors$ = this.errorSubject.asObservable();
  private readonly engine: Engine<T, R>;
  /** Results of put and broadcast tasks and emitted values, until consumed; at most `bufferSize` pending before puts wait. */
  private readonly buffer: ResultBuffer<R>;
  /** The job that carries put and broadcast tasks into `buffer`. */
  private readonly puts: Job<T, R>;
  /** Broadcasts in order, the latest per key, with the workers that have run each: what a replacement replays. */
  private readonly broadcasts = new Map<string | symbol, { readonly task: T; readonly ranOn: Set<number> }>();
  /** Unwires the signal handlers of `stopOnSignals`. */
  private readonly unwireSignals: () => void;
  /** Pipelines attached with `loopPool(pool)` or `process`: told to stop taking input on `stop()`. */
  private readonly pipelines = new Set<PipelineHandle>();
  /** Why the pool no longer takes tasks, once it does not. */
  private closedBy: LoopPoolError | undefined;
  private stopping: Promise<void> | undefined;
  private terminating: Promise<void> | undefined;

  constructor(
    transport: Transport<T, R>,
    private readonly options: ResolvedOptions,
    workerName: string,
  ) {
    this.buffer = new ResultBuffer<R>(options.ack, () => this.engine.pump());
    this.results$ = this.buffer.results$;
    this.engine = new Engine<T, R>(transport, options, workerName, {
      emitted: (value, worker) => this.buffer.push(value, worker),
      failed: (error) => this.fail(error),
      restarted: (worker) => this.replayBroadcasts(worker),
    });
    this.puts = this.engine.open(
      {
        next: (value, worker) => this.buffer.push(value, worker),
        error: () => {},
        complete: () => {},
        closed: false,
      },
      {
        ordered: false,
        bufferSize: options.bufferSize,
        failFast: false,
        // A running task holds a place for its result, so pending results stay within bufferSize.
        mayStart: () => this.buffer.pending + this.puts.active < options.bufferSize,
      },
    );
    this.ready = this.engine.ready;
    this.ready.catch(() => {}); // reported through results$, errors$ and every task's Promise
    this.unwireSignals = options.stopOnSignals ? stopOnSignals(() => void this.stop(), () => this.terminate()) : () => {};
  }

  get size(): number {
    return this.engine.size;
  }

  put(task: T, options?: PutOptions): Promise<void> {
    this.assertOpen('put');
    return this.send(task, { target: this.checkWorker(options?.worker) });
  }

  broadcast(task: T, options?: BroadcastOptions): Promise<void> {
    this.assertOpen('broadcast');
    const key = options?.key ?? Symbol('broadcast');
    const entry = { task, ranOn: new Set<number>() };
    this.broadcasts.delete(key);
    this.broadcasts.set(key, entry);
    const sent = Array.from({ length: this.size }, (_, worker) =>
      this.send(task, { target: worker, sequential: true }, () => entry.ranOn.add(worker)),
    );
    return Promise.all(sent).then(() => undefined);
  }

  stats(): PoolStats {
    return {
      size: this.size,
      workers: this.engine.load(),
      waiting: this.engine.waiting,
      pendingResults: this.buffer.pending,
      dropped: this.engine.dropped,
    };
  }

  stop(): Promise<void> {
    if (this.terminating) return this.terminating;
    this.stopping ??= this.drainThenStop();
    return this.stopping;
  }

  terminate(): Promise<void> {
    this.unwireSignals();
    this.closedBy ??= new PoolClosedError('The pool was terminated');
    this.terminating ??= this.engine
      .terminate(new PoolClosedError('The pool was terminated before the task finished'))
      .then(() => this.buffer.complete());
    return this.terminating;
  }

  process(input: PipelineInput<T>, options: ProcessOptions & { settle: true; ack: 'manual' }): Observable<Delivery<Settled<T, R>>>;
  process(input: PipelineInput<T>, options: ProcessOptions & { settle: true }): Observable<Settled<T, R>>;
  process(input: PipelineInput<T>, options: ProcessOptions & { ack: 'manual' }): Observable<Delivery<R>>;
  process(input: PipelineInput<T>, options?: ProcessOptions): Observable<R>;
  process(input: PipelineInput<T>, options?: ProcessOptions): Observable<R | Delivery<R> | Settled<T, R> | Delivery<Settled<T, R>>> {
    const { ack, ...rest } = options ?? {};
    const settings = this.settings(rest, ack);
    return new Observable<R | Delivery<R>>((subscriber) => this.attach(input, subscriber, settings));
  }

  /** @internal `loopPool(pool, options)`: a pipeline whose tasks run on this pool and whose results go to its own subscriber. */
  pipeline(options: PipelineOptions | undefined): (source: Observable<T>) => Observable<R> {
    const settings = this.settings(options, 'auto');
    return (source) => new Observable<R>((subscriber) => this.attach(source, subscriber, settings));
  }

  private settings(options: PipelineOptions | undefined, ack: unknown): PipelineSettings {
    const { concurrency, queueSize } = this.options;
    return {
      ...resolvePipelineOptions(options, this.options),
      ack: ack === undefined || ack === 'auto' || ack === 'manual' ? (ack ?? 'auto') : invalidAck(ack),
      readAhead: this.size * (concurrency + queueSize),
    };
  }

  private attach(input: PipelineInput<T>, subscriber: Subscriber<R | Delivery<R>>, settings: PipelineSettings) {
    if (this.closedBy) {
      subscriber.error(new PoolClosedError('The pool is closed: it takes no new pipeline', { cause: this.closedBy }));
      return;
    }
    const pipeline = runPipeline(this.engine, input, subscriber, settings);
    this.pipelines.add(pipeline);
    return () => {
      this.pipelines.delete(pipeline);
      pipeline.teardown();
    };
  }

  private async drainThenStop(): Promise<void> {
    this.closedBy ??= new PoolClosedError('The pool was stopped');
    const cutShort = new PoolClosedError('The pool stopped before the source completed; every input taken was processed');
    for (const pipeline of [...this.pipelines]) pipeline.stopInputs(cutShort);
    this.puts.end();
    await this.engine.drain();
    await this.engine.terminate();
    this.unwireSignals();
    this.buffer.complete();
  }

  /** A replaced worker runs again, first and in order, the broadcasts its predecessor had run. */
  private replayBroadcasts(worker: number): void {
    const ran = [...this.broadcasts.values()].filter((entry) => entry.ranOn.has(worker));
    for (const { task } of ran.reverse()) {
      this.puts.push(task, {
        target: worker,
        sequential: true,
        first: true,
        settled: (error) => error && !(error instanceof PoolClosedError) && this.report(error),
      });
    }
  }

  private send(task: T, options: Omit<PushOptions, 'settled'>, done?: () => void): Promise<void> {
    let settle!: { resolve(): void; reject(error: unknown): void };
    const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.puts.push(task, { ...options, settled: (error) => {
      if (!error) {
        done?.();
        return settle.resolve();
      }
      if (error instanceof PoolClosedError) {
        promise.catch(() => {}); // the user ended the pool; these failures are expected
      } else {
        if (this.errorSubject.observed) promise.catch(() => {});
        this.errorSubject.next(error);
      }
      settle.reject(error);
    } });
    return promise;
  }

  /** A worker failed to load or crashed: the pool cannot go on. */
  private fail(error: LoopPoolError): void {
    if (!this.engine) {
      queueMicrotask(() => this.fail(error)); // reported while the engine was being built
      return;
    }
    if (!(error instanceof WorkerLoadError || error instanceof WorkerCrashError)) {
      this.report(error);
      return;
    }
    if (this.closedBy) return;
    this.closedBy = error;
    this.unwireSignals();
    this.errorSubject.next(error);
    this.buffer.error(error);
    this.terminating = this.engine.terminate(error);
  }

  /** An error that belongs to no task: on `errors$`, or as a process warning when nobody listens. */
  private report(error: LoopPoolError): void {
    if (this.errorSubject.observed) this.errorSubject.next(error);
    else process.emitWarning(error);
  }

  private assertOpen(action: string): void {
    if (this.closedBy) {
      throw new PoolClosedError(`The pool is closed: ${action}() takes no new task`, { cause: this.closedBy });
    }
  }

  private checkWorker(worker: unknown): number | undefined {
    if (worker === undefined) return undefined;
    if (typeof worker !== 'number' || !Number.isInteger(worker) || worker < 0 || worker >= this.size) {
      throw new RangeError(
        `Expected \`worker\` to be an integer from 0 to ${this.size - 1}, got ${String(worker)} (${typeof worker})`,
      );
    }
    return worker;
  }
}

function invalidAck(ack: unknown): never {
  throw new TypeError(`Expected \`ack\` to be one of 'auto', 'manual', got ${show(ack)}`);
}

import { Observable, Subject, takeUntil, type Subscriber } from 'rxjs';
import type { BroadcastOptions, LoopPool, ProcessOptions, PutOptions, RunOptions } from './poolApi';
import { Engine } from './engine/engine';
import type { Job } from './engine/job';
import { runPipeline, type PipelineHandle, type PipelineInput, type PipelineSettings } from './engine/pipeline';
import { ResultBuffer } from './engine/resultBuffer';
import { StallWatch, type StallSettings } from './engine/stallWatch';
import type { PushOptions } from './engine/types';
import { AbortError, BufferOverflowError, PoolClosedError, type LoopBlockedWarning, type LoopPoolError } from './errors';
import { Monitor } from './metrics/monitor';
import type { PoolStats } from './metrics/stats';
import type { Delivery, Settled } from './results';
import { callOptionNames, type PipelineOptions, type ResolvedOptions } from './options';
import { checkNames, resolvePipelineOptions } from './resolveOptions';
import { show } from './validate';
import { stopOnSignals } from './signals';
import { noop } from './noop';
import type { PortFactory } from './transport/transport';

/** @internal The pool behind `createPool`, and what `loopPool(pool)` attaches to. */
export class Pool<T, R> implements LoopPool<T, R, R | Delivery<R>> {
  readonly ready: Promise<void>;
  readonly results$: Observable<R | Delivery<R>>;
  private readonly errorSubject = new Subject<LoopPoolError>();
  readonly errors$ = this.errorSubject.asObservable();
  readonly stats$: Observable<PoolStats>;
  readonly warnings$: Observable<LoopBlockedWarning>;
  private readonly engine: Engine<T, R>;
  /** Stats, statsd metrics and blocked-loop warnings. */
  private readonly monitor: Monitor<T, R>;
  /** Emits once the pool has stopped, for what must end with it. */
  private readonly closed = new Subject<void>();
  /** Results of put and broadcast tasks and emitted values, until consumed; at most `bufferSize` pending before puts wait. */
  private readonly buffer: ResultBuffer<R>;
  /** Where a sink that holds every place of a manual-ack buffer is reported (`stallThreshold`). */
  private readonly stall: StallSettings;
  /** Watches `buffer`'s deliveries not yet done, with `ack: 'manual'`. */
  private readonly sinkWatch: StallWatch;
  /** The job that carries put and broadcast tasks into `buffer`. */
  private readonly puts: Job<T, R>;
  /** Broadcasts in order, the latest per key, with the workers that have run each: what a replacement replays. */
  private readonly broadcasts = new Map<string | symbol, { readonly task: T; readonly ranOn: Set<number> }>();
  /** The jobs of `run` calls not yet settled: with `overflow`, what waits in them counts against its bound. */
  private readonly runs = new Set<Job<T, R>>();
  /** Unwires the signal handlers of `stopOnSignals`. */
  private readonly unwireSignals: () => void;
  /** Pipelines attached with `loopPool(pool)` or `process`: told to stop taking input on `stop()`. */
  private readonly pipelines = new Set<PipelineHandle>();
  /** Why the pool no longer takes tasks, once it does not. */
  private closedBy: LoopPoolError | undefined;
  /** What failed the pool (a worker module that does not load, too many crashes): `stop()` rejects with it. */
  private failure: LoopPoolError | undefined;
  private stopping: Promise<void> | undefined;
  private terminating: Promise<void> | undefined;

  constructor(
    transport: PortFactory<T, R>,
    private readonly options: ResolvedOptions,
    workerName: string,
    /** Where values workers send with `ctx.emit` go: `results$` unless given (the operator's pool gives its output). */
    emitted: (value: R, worker: number) => void = (value, worker) => this.buffer.push(value, worker),
  ) {
    this.stall = { threshold: options.stallThreshold, warn: (warning) => this.warn(warning) };
    this.sinkWatch = new StallWatch(options.bufferSize, this.stall, () => this.buffer.outstanding, () => this.puts.waiting);
    this.buffer = new ResultBuffer<R>(options.ack, options.bufferSize, () => this.engine.pump(), () => this.sinkWatch.changed());
    this.results$ = this.buffer.results$;
    this.engine = new Engine<T, R>(transport, options, workerName, {
      emitted,
      failed: (error) => this.fail(error),
      warned: (error) => this.warn(error),
      restarted: (worker) => this.replayBroadcasts(worker),
      started: (worker) => this.replayBroadcasts(worker, true),
      retired: (worker) => this.broadcasts.forEach((entry) => entry.ranOn.delete(worker)),
      reported: (error) => this.report(error),
      measured: (ms) => this.monitor.taskEnded(ms),
    });
    this.monitor = new Monitor(this, this.engine, options, () => this.buffer.pending, (warning) => this.report(warning));
    this.stats$ = this.monitor.stats$.pipe(takeUntil(this.closed));
    this.warnings$ = this.monitor.warnings$;
    this.puts = this.engine.open(
      {
        next: (value, worker, receipt) => this.buffer.push(value, worker, receipt),
        error: noop,
        complete: noop,
        closed: false,
      },
      {
        ordered: false,
        bufferSize: options.bufferSize,
        failFast: false,
        // A running task holds a place for its result, so pending results stay within bufferSize.
        mayStart: () => this.buffer.mayStart(this.puts.active),
      },
    );
    this.ready = this.engine.ready;
    this.ready.catch(noop); // reported through results$, errors$ and every task's Promise
    this.unwireSignals = options.stopOnSignals
      ? stopOnSignals((signal) => void this.stopBy(`Stopped by ${signal}`).catch(noop), () => this.terminate())
      : noop;
  }

  get size(): number {
    return this.engine.size;
  }

  put(task: T, options?: PutOptions): Promise<void> {
    const { worker } = checkNames(options, callOptionNames.put, 'pool.put(task, options)');
    this.assertOpen('put');
    const target = this.checkWorker(worker);
    const refused = this.shed('put');
    if (refused) return Promise.reject(refused);
    return this.send(task, { target });
  }

  run(task: T, options?: RunOptions): Promise<R> {
    const { worker, signal, transfer } = checkNames(options, callOptionNames.run, 'pool.run(task, options)');
    this.assertOpen('run');
    const target = this.checkWorker(worker);
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${show(signal)}`);
    }
    if (transfer !== undefined && !Array.isArray(transfer)) {
      throw new TypeError(`Expected \`transfer\` to be an array of transferable objects, got ${show(transfer)}`);
    }
    if (signal?.aborted) return Promise.reject(new AbortError(task, signal.reason));
    const refused = this.shed('run');
    if (refused) return Promise.reject(refused);
    return new Promise<R>((resolve, reject) => {
      let last: R | undefined;
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        this.runs.delete(job);
        signal?.removeEventListener('abort', abort);
        return true;
      };
      // One task, one job of its own: its result goes to this Promise, not to results$.
      const job = this.engine.open(
        {
          next: (value, _worker, receipt) => {
            last = value;
            receipt.taken();
          },
          error: (error) => settle() && reject(error),
          complete: () => settle() && resolve(last as R),
          get closed() {
            return settled;
          },
        },
        { ordered: false, bufferSize: this.options.bufferSize, failFast: true },
      );
      const abort = (): void => {
        if (!settle()) return;
        job.close(); // a running task is cancelled: its ctx.signal aborts in the worker
        reject(new AbortError(task, signal!.reason));
      };
      signal?.addEventListener('abort', abort, { once: true });
      this.runs.add(job);
      job.push(task, { target, transfer: transfer as RunOptions['transfer'] });
      job.end();
    });
  }

  broadcast(task: T, options?: BroadcastOptions): Promise<void> {
    const checked = checkNames(options, callOptionNames.broadcast, 'pool.broadcast(task, options)');
    this.assertOpen('broadcast');
    const key = checkKey(checked.key) ?? Symbol('broadcast');
    const entry = { task, ranOn: new Set<number>() };
    this.broadcasts.delete(key);
    this.broadcasts.set(key, entry);
    const sent = this.engine.liveWorkers().map((worker) =>
      this.send(task, { target: worker, sequential: true }, () => entry.ranOn.add(worker)),
    );
    return Promise.all(sent).then(() => undefined);
  }

  stats(): PoolStats {
    return this.monitor.collector.snapshot();
  }

  get inspectUrl(): Promise<string | undefined> {
    return this.monitor.inspect?.url ?? Promise.resolve(undefined);
  }

  stop(): Promise<void> {
    return this.stopBy('The pool stopped');
  }

  /** `await using pool = createPool(...)`: a graceful `stop()` at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  terminate(): Promise<void> {
    this.closedBy ??= new PoolClosedError('The pool was terminated');
    this.terminating ??= this.engine
      .terminate(new PoolClosedError('The pool was terminated before the task finished'))
      .then(() => this.ended())
      .then(() => this.buffer.complete());
    return this.terminating;
  }

  process(input: PipelineInput<T>, options: ProcessOptions & { settle: true; ack: 'manual' }): Observable<Delivery<Settled<T, R>>>;
  process(input: PipelineInput<T>, options: ProcessOptions & { settle: true }): Observable<Settled<T, R>>;
  process(input: PipelineInput<T>, options: ProcessOptions & { settle: boolean; ack: 'manual' }): Observable<Delivery<R | Settled<T, R>>>;
  process(input: PipelineInput<T>, options: ProcessOptions & { settle: boolean }): Observable<R | Settled<T, R>>;
  process(input: PipelineInput<T>, options: ProcessOptions & { ack: 'manual' }): Observable<Delivery<R>>;
  process(input: PipelineInput<T>, options?: ProcessOptions): Observable<R>;
  process(
    input: PipelineInput<T>,
    options?: ProcessOptions,
  ): Observable<R | Delivery<R> | Settled<T, R> | Delivery<Settled<T, R>> | Delivery<R | Settled<T, R>>> {
    const { ack, ...rest } = checkNames(options, callOptionNames.process, 'pool.process(input, options)');
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
      readAhead: this.engine.capacity * (concurrency + queueSize),
      stall: this.stall,
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

  /** The first graceful stop, by `stop()` or a signal (`why`, for the error of pipelines it cuts short). */
  private stopBy(why: string): Promise<void> {
    this.stopping ??= this.drainThenStop(why);
    return this.stopping;
  }

  /** Lets every task taken finish, then stops the workers; rejects with what failed the pool, if it failed meanwhile. */
  private async drainThenStop(why: string): Promise<void> {
    this.closedBy ??= new PoolClosedError('The pool was stopped');
    if (!this.terminating) {
      const cutShort = new PoolClosedError(`${why} before the source completed; every input taken was processed`);
      for (const pipeline of [...this.pipelines]) pipeline.stopInputs(cutShort);
      this.puts.end();
      this.sinkWatch.drain();
      await this.engine.drain(); // resolves early if the pool fails meanwhile
    }
    this.terminating ??= this.engine
      .terminate()
      .then(() => this.ended())
      .then(() => this.buffer.complete());
    await this.terminating;
    if (this.failure) throw this.failure;
  }

  /** The workers have ended: so do signals, timers and the streams that follow the pool. */
  private async ended(): Promise<void> {
    this.unwireSignals();
    this.sinkWatch.stop();
    this.closed.next();
    this.closed.complete();
    await this.monitor.stop();
  }

  /**
   * A replaced worker runs again, first and in order, the broadcasts its predecessor had run; a
   * worker started later (an elastic pool grew) runs the whole history, as the others did.
   */
  private replayBroadcasts(worker: number, all = false): void {
    const replayed = [...this.broadcasts.values()].filter((entry) => all || entry.ranOn.has(worker));
    for (const entry of replayed.reverse()) {
      this.puts.push(entry.task, {
        target: worker,
        sequential: true,
        first: true,
        quiet: true, // its results were delivered when the broadcast first ran
        settled: (error) => void (all && !error && entry.ranOn.add(worker)), // a failure is reported like any task's
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
      // The user ended the pool, or watches errors$ or onError (the engine reports the error next):
      // the rejection is then expected; otherwise it is left unhandled, so that it is not lost.
      if (error instanceof PoolClosedError || this.watched) promise.catch(noop);
      settle.reject(error);
    } });
    return promise;
  }

  /**
   * A worker module does not load, or workers crashed more often than `maxRestarts`: the pool
   * cannot go on. Every unfinished task fails with `error`, `results$` errors, `stop()` rejects.
   */
  private fail(error: LoopPoolError): void {
    if (this.failure || this.terminating) return;
    this.failure = error;
    this.closedBy ??= error;
    this.report(error);
    this.buffer.error(error);
    this.terminating = this.engine.terminate(error).then(() => this.ended());
  }

  /** Something a worker could not send: to `errors$` and `onError` if anyone listens, else a process warning. */
  private warn(error: LoopPoolError): void {
    if (this.watched) this.report(error);
    else process.emitWarning(error);
  }

  /** Whether someone hears of errors: a subscriber of `errors$`, or `onError`. */
  private get watched(): boolean {
    return this.errorSubject.observed || this.options.onError !== undefined;
  }

  /** To `errors$` and `onError`. */
  private report(error: LoopPoolError): void {
    this.monitor?.errors.note(error);
    this.errorSubject.next(error);
    this.options.onError?.(error);
  }

  /**
   * With `overflow`, the error that refuses a `put` or `run` while `overflow.size` of the
   * pool's puts and runs wait for a worker (piscina's `maxQueue`); nothing is queued then.
   */
  private shed(call: 'put' | 'run'): BufferOverflowError | undefined {
    const bound = this.options.overflow;
    if (!bound) return undefined;
    let waiting = this.puts.waiting;
    for (const job of this.runs) waiting += job.waiting;
    return waiting >= bound.size ? new BufferOverflowError(bound.size, undefined, call) : undefined;
  }

  private assertOpen(action: string): void {
    if (this.closedBy) {
      throw new PoolClosedError(`The pool is closed: ${action}() takes no new task`, { cause: this.closedBy });
    }
  }

  private checkWorker(worker: unknown): number | undefined {
    if (worker === undefined) return undefined;
    const last = this.engine.capacity - 1;
    if (typeof worker !== 'number' || !Number.isInteger(worker) || worker < 0 || worker > last) {
      throw new RangeError(`Expected \`worker\` to be an integer from 0 to ${last}, got ${String(worker)} (${typeof worker})`);
    }
    return worker;
  }
}


function checkKey(key: unknown): string | undefined {
  if (key === undefined || typeof key === 'string') return key;
  throw new TypeError(`Expected \`key\` to be a string, got ${show(key)}`);
}

function invalidAck(ack: unknown): never {
  throw new TypeError(`Expected \`ack\` to be one of 'auto', 'manual', got ${show(ack)}`);
}

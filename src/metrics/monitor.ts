import { exhaustMap, from, Observable, share, Subject, type Subscription } from 'rxjs';
import type { Engine } from '../engine/engine';
import { LoopBlockedWarning, type LoopPoolError } from '../errors';
import type { ResolvedOptions } from '../options';
import { StatsCollector, type PoolStats } from './stats';
import { StatsdReporter } from './statsd';

/**
 * Everything a pool shows of itself: snapshots on demand and every `statsInterval` ms,
 * statsd metrics, and blocked-loop warnings. Timers are unref'd: watching a pool never keeps
 * the process alive.
 */
export class Monitor<T, R> {
  readonly collector: StatsCollector;
  /** A snapshot every `statsInterval` ms while subscribed; the workers are measured for each. */
  readonly stats$: Observable<PoolStats>;
  private readonly warnings = new Subject<LoopBlockedWarning>();
  /** Blocked-loop warnings, as they are raised. */
  readonly warnings$ = this.warnings.asObservable();
  private readonly statsd: StatsdReporter | undefined;
  /** What runs on its own: `onStats`, the statsd sends, the blocked-loop watch. */
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly engine: Engine<T, R>,
    options: ResolvedOptions,
    pendingResults: () => number,
    /** Where warnings go besides `warnings$`: the pool's `errors$` and `onError`. */
    private readonly report: (error: LoopPoolError) => void,
  ) {
    this.collector = new StatsCollector(engine, options.name, pendingResults);
    this.stats$ = this.sampled(options.statsInterval);
    if (options.onStats) this.subscriptions.push(this.stats$.subscribe(options.onStats));
    if (options.metrics) {
      const statsd = new StatsdReporter(options.metrics, options.name);
      this.statsd = statsd;
      const every = options.metrics.interval ?? options.statsInterval;
      const samples = every === options.statsInterval ? this.stats$ : this.sampled(every);
      this.subscriptions.push(samples.subscribe((stats) => statsd.send(stats, this.collector.takeDurations())));
    }
    if (options.blockingThreshold !== undefined) this.subscriptions.push(this.watchLoops(options.blockingThreshold));
  }

  /** Stops every timer, and closes the statsd client if the pool created it. */
  async stop(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.warnings.complete();
    await this.statsd?.close();
  }

  /** Samples every `ms` milliseconds while subscribed; one sampling at a time. */
  private sampled(ms: number): Observable<PoolStats> {
    return ticks(ms).pipe(
      exhaustMap(() => from(this.collector.sample())),
      share(),
    );
  }

  /** Checks the workers' heartbeats twice per threshold; warns once per blocked stretch of each worker. */
  private watchLoops(threshold: number): Subscription {
    const warned = new Set<number>();
    return ticks(Math.max(5, Math.floor(threshold / 2))).subscribe(() => {
      const blocked = this.engine.blocked(threshold);
      for (const index of warned) if (!blocked.some((b) => b.index === index)) warned.delete(index);
      for (const { index, ms, task } of blocked) {
        if (warned.has(index)) continue;
        warned.add(index);
        const warning = new LoopBlockedWarning(this.engine.workerNameOf(index), index, ms, threshold, task?.index, task?.input);
        this.statsd?.blocked(index);
        this.warnings.next(warning);
        this.report(warning);
      }
    });
  }
}

/** Emits every `ms` milliseconds on an unref'd timer. */
function ticks(ms: number): Observable<void> {
  return new Observable<void>((subscriber) => {
    const timer = setInterval(() => subscriber.next(), ms);
    timer.unref();
    return () => clearInterval(timer);
  });
}

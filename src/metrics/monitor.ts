import { exhaustMap, from, Observable, share, Subject, type Subscription } from 'rxjs';
import type { Engine } from '../engine/engine';
import { LoopBlockedWarning, type LoopPoolError } from '../errors';
import type { ResolvedOptions } from '../options';
import { DurationHistogram } from './durations';
import { families, prometheusText } from './families';
import { InspectServer, type InspectStats } from './inspect';
import { RecentErrors } from './recentErrors';
import { StatsCollector, type PoolStats } from './stats';
import { StatsdReporter } from './statsd';

/** The monitor of each pool, for `registerPoolMetrics` and the inspect server (which take a pool). */
const monitors = new WeakMap<object, Monitor<unknown, unknown>>();

/** The monitor of a pool made by `createPool`; throws a TypeError for anything else. */
export function monitorOf(pool: unknown): Monitor<unknown, unknown> {
  const monitor = typeof pool === 'object' && pool !== null ? monitors.get(pool) : undefined;
  if (!monitor) throw new TypeError(`Expected a pool made by createPool(...), got ${typeof pool === 'object' ? String(pool) : typeof pool}`);
  return monitor;
}

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
  /** Durations of the timed tasks since the pool started, for `/metrics`. */
  readonly durations = new DurationHistogram();
  /** Errors of the last minute, for `/stats` and `looppool top`. */
  readonly errors = new RecentErrors();
  /** Called with each timed task's duration, in seconds: `registerPoolMetrics`' histograms. */
  readonly durationListeners = new Set<(seconds: number) => void>();
  /** Serves `/stats` and `/metrics` with the `inspect` option. */
  readonly inspect: InspectServer | undefined;
  /** A cluster pool with `inspect` also serves `/stats` through NATS, for `looppool top --nats`. */
  private readonly natsInspect: { close(): Promise<void> } | undefined;

  constructor(
    /** The pool this monitor watches, as `monitorOf` finds it. */
    pool: object,
    private readonly engine: Engine<T, R>,
    options: ResolvedOptions,
    pendingResults: () => number,
    /** Where warnings go besides `warnings$`: the pool's `errors$` and `onError`. */
    private readonly report: (error: LoopPoolError) => void,
  ) {
    monitors.set(pool, this as Monitor<unknown, unknown>);
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
    if (options.inspect) {
      const stats = (): InspectStats => ({ ...this.collector.snapshot(), errors: this.errors.read() });
      this.natsInspect = options.transport?.serveInspect?.(stats);
      this.inspect = new InspectServer(
        {
          name: options.name,
          stats,
          metrics: () => {
            const stats = this.collector.snapshot();
            return prometheusText(families([stats]), [{ pool: stats.name, counts: this.durations.read() }]);
          },
          keepSampled: () => this.keepSampled(),
        },
        options.inspect,
      );
    }
  }

  /** A task ended; `ms` is its duration if it was timed. */
  taskEnded(ms: number | undefined): void {
    this.collector.taskEnded(ms);
    if (ms === undefined) return;
    this.durations.observe(ms / 1000);
    for (const listener of this.durationListeners) listener(ms / 1000);
  }

  /** Keeps the workers' own figures fresh (one sampling every `statsInterval` ms) while the returned subscription lasts. */
  keepSampled(): Subscription {
    return this.stats$.subscribe();
  }

  /** Stops every timer and the inspect server, and closes the statsd client if the pool created it. */
  async stop(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.warnings.complete();
    await Promise.all([this.statsd?.close(), this.inspect?.close(), this.natsInspect?.close()]);
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

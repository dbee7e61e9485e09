import { durationBuckets, type DurationCounts } from './durations';
import type { PoolStats } from './stats';

/** One Prometheus metric of a pool: its name, help, type, label names and samples. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labelNames: readonly string[];
  readonly samples: ReadonlyArray<{ readonly labels: Readonly<Record<string, string>>; readonly value: number }>;
}

/** The task-duration histogram's name and help; its buckets are {@link durationBuckets}. */
export const durationFamily = {
  name: 'looppool_task_duration_seconds',
  help: 'Duration of a task on its worker, from start to end (one task in eight is timed)',
  labelNames: ['pool'],
  buckets: durationBuckets,
} as const;

type Spec = Omit<Family, 'samples'> & { readonly read: (stats: PoolStats) => Family['samples'] };

const pool = ['pool'] as const;
const worker = ['pool', 'worker'] as const;
/** A figure of the pool. */
const ofPool = (value: (stats: PoolStats) => number) => (stats: PoolStats) => [{ labels: { pool: stats.name }, value: value(stats) }];
/** A figure of each worker that has it. */
const ofWorker =
  (value: (w: PoolStats['workers'][number]) => number | undefined) =>
  (stats: PoolStats): Family['samples'] =>
    stats.workers.flatMap((w) => {
      const v = value(w);
      return v === undefined ? [] : [{ labels: { pool: stats.name, worker: w.name }, value: v }];
    });

/**
 * Every metric a pool shows Prometheus but the duration histogram, in one place: the inspect
 * server's `/metrics` and `registerPoolMetrics` both read them.
 */
const specs: readonly Spec[] = [
  {
    name: 'looppool_tasks_total',
    help: 'Tasks ended on a worker, by outcome (done, or failed for good after retries)',
    type: 'counter',
    labelNames: [...worker, 'outcome'],
    read: (stats) =>
      stats.workers.flatMap((w) => [
        { labels: { pool: stats.name, worker: w.name, outcome: 'done' }, value: w.done },
        { labels: { pool: stats.name, worker: w.name, outcome: 'failed' }, value: w.failed },
      ]),
  },
  { name: 'looppool_workers', help: 'Workers of the pool that are running and ready', type: 'gauge', labelNames: pool, read: ofPool((s) => s.workers.filter((w) => w.live).length) },
  { name: 'looppool_waiting_inputs', help: 'Inputs not yet handed to a worker', type: 'gauge', labelNames: pool, read: ofPool((s) => s.waiting) },
  { name: 'looppool_pending_results', help: 'Results produced and not yet consumed from results$', type: 'gauge', labelNames: pool, read: ofPool((s) => s.pendingResults) },
  { name: 'looppool_dropped_inputs_total', help: 'Inputs dropped by an overflow strategy', type: 'counter', labelNames: pool, read: ofPool((s) => s.dropped) },
  { name: 'looppool_restarts_total', help: 'Times a worker was replaced after it ended', type: 'counter', labelNames: worker, read: ofWorker((w) => w.restarts) },
  { name: 'looppool_worker_tasks_in_flight', help: 'Tasks running on a worker', type: 'gauge', labelNames: worker, read: ofWorker((w) => w.inFlight) },
  { name: 'looppool_worker_tasks_queued', help: 'Tasks handed to a worker and waiting there for a free place', type: 'gauge', labelNames: worker, read: ofWorker((w) => w.queued) },
  {
    name: 'looppool_worker_event_loop_utilization_ratio',
    help: "Event-loop utilization of a worker (0 to 1) between the pool's last two samples",
    type: 'gauge',
    labelNames: worker,
    read: ofWorker((w) => w.elu),
  },
  {
    name: 'looppool_worker_event_loop_delay_seconds',
    help: "Event-loop delay of a worker between the pool's last two samples: median (0.5), 99th percentile (0.99), longest (1)",
    type: 'gauge',
    labelNames: [...worker, 'quantile'],
    read: (stats) =>
      stats.workers.flatMap((w) =>
        w.loopDelay
          ? (['0.5', '0.99', '1'] as const).map((quantile) => ({
              labels: { pool: stats.name, worker: w.name, quantile },
              value: (quantile === '0.5' ? w.loopDelay!.p50 : quantile === '0.99' ? w.loopDelay!.p99 : w.loopDelay!.max) / 1000,
            }))
          : [],
      ),
  },
  { name: 'looppool_worker_heap_used_bytes', help: 'V8 heap used by a worker', type: 'gauge', labelNames: worker, read: ofWorker((w) => w.heapUsed) },
  { name: 'looppool_worker_heap_total_bytes', help: 'V8 heap reserved by a worker', type: 'gauge', labelNames: worker, read: ofWorker((w) => w.heapTotal) },
];

/** The metrics, without samples: what `registerPoolMetrics` registers. */
export const familySpecs: ReadonlyArray<Omit<Family, 'samples'>> = specs;

/** The metrics of each pool, with their samples now. */
export function families(pools: readonly PoolStats[]): Family[] {
  return specs.map(({ read, ...spec }) => ({ ...spec, samples: pools.flatMap(read) }));
}

/** The Prometheus text exposition format (version 0.0.4) of `families` and each pool's duration histogram. */
export function prometheusText(list: readonly Family[], durations: ReadonlyArray<{ readonly pool: string; readonly counts: DurationCounts }>): string {
  const lines: string[] = [];
  for (const family of list) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const { labels, value } of family.samples) lines.push(`${family.name}${labelText(labels)} ${value}`);
  }
  const { name, help } = durationFamily;
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const { pool, counts } of durations) {
    counts.buckets.forEach((count, i) => {
      const le = i < durationBuckets.length ? String(durationBuckets[i]) : '+Inf';
      lines.push(`${name}_bucket${labelText({ pool, le })} ${count}`);
    });
    lines.push(`${name}_sum${labelText({ pool })} ${counts.sum}`, `${name}_count${labelText({ pool })} ${counts.count}`);
  }
  return lines.join('\n') + '\n';
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const escape = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${Object.entries(labels)
    .map(([key, value]) => `${key}="${escape(value)}"`)
    .join(',')}}`;
}

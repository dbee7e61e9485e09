import type { InspectStats } from '../metrics/inspect';
import type { WorkerStats } from '../metrics/stats';

/** What `s` sorts the rows by, in the order it cycles through them. */
export const sortKeys = ['worker', 'tasks/s', 'elu', 'heap', 'restarts'] as const;
export type SortKey = (typeof sortKeys)[number];

/** Two readings of a pool one interval apart: what a frame shows. */
export interface Reading {
  readonly stats: InspectStats;
  /** The reading before, for rates; undefined for the first. */
  readonly previous: InspectStats | undefined;
}

/** One worker's row, with its rate since the previous reading. */
interface Row {
  readonly worker: WorkerStats;
  readonly rate: number | undefined;
}

/** A worker's state, as a word: starting (or being replaced), busy, idle. */
export function stateOf(worker: WorkerStats): string {
  if (!worker.live) return worker.restarts > 0 ? 'restart' : 'starting';
  return worker.inFlight > 0 ? 'busy' : 'idle';
}

/** Tasks ended per second on each worker between two readings, by index; undefined without a previous one. */
function rates({ stats, previous }: Reading): Array<number | undefined> {
  const seconds = previous ? (stats.time - previous.time) / 1000 : 0;
  return stats.workers.map((w) => {
    const before = previous?.workers[w.index];
    if (!before || seconds <= 0) return undefined;
    return Math.max(0, w.done + w.failed - before.done - before.failed) / seconds;
  });
}

/** The pool's throughput between two readings (tasks ended per second), or undefined for the first. */
export function throughput(reading: Reading): number | undefined {
  const each = rates(reading);
  return each.some((rate) => rate === undefined) ? undefined : each.reduce<number>((sum, rate) => sum + rate!, 0);
}

/**
 * The full-screen frame of `looppool top`: the pool's totals, one row per worker sorted by
 * `sort`, the last error, and the keys; each line cut to `width` columns.
 */
export function renderFrame(reading: Reading, source: string, sort: SortKey, width: number): string[] {
  const { stats } = reading;
  const each = rates(reading);
  const rows: Row[] = stats.workers.map((worker, i) => ({ worker, rate: each[i] }));
  rows.sort(by(sort));
  const remote = stats.workers.some((w) => w.host !== undefined);
  const live = stats.workers.filter((w) => w.live).length;
  const lines = [
    `looppool top - pool ${stats.name} at ${source}   ${new Date(stats.time).toISOString().slice(11, 19)} UTC`,
    `workers ${live}/${stats.size} live   ${fixed(throughput(reading))} tasks/s   waiting ${stats.waiting}   pending results ${stats.pendingResults}   ` +
      `errors (last min) ${stats.errors.lastMinute}   cpu ${Math.round(stats.cpu)}%   rss ${mb(stats.rss)}`,
    '',
    header(remote),
    ...rows.map((row) => line(row, remote)),
    '',
    `last error: ${stats.errors.last ? `${stats.errors.last.name}: ${stats.errors.last.message.split('\n')[0]}` : 'none'}`,
    `q quit   s sort (by ${sort})`,
  ];
  return lines.map((text) => text.slice(0, width));
}

/** The plain line `looppool top` prints each second when its output is not a terminal. */
export function renderLine(reading: Reading): string {
  const { stats } = reading;
  const inFlight = stats.workers.reduce((sum, w) => sum + w.inFlight, 0);
  const live = stats.workers.filter((w) => w.live).length;
  const elus = stats.workers.flatMap((w) => (w.elu === undefined ? [] : [w.elu]));
  const elu = elus.length > 0 ? `${Math.round((elus.reduce((a, b) => a + b, 0) / elus.length) * 100)}%` : '-';
  return (
    `${new Date(stats.time).toISOString()} pool=${stats.name} workers=${live}/${stats.size} tasks/s=${fixed(throughput(reading))} ` +
    `in_flight=${inFlight} waiting=${stats.waiting} pending=${stats.pendingResults} elu=${elu} ` +
    `restarts=${stats.workers.reduce((sum, w) => sum + w.restarts, 0)} errors_1m=${stats.errors.lastMinute}`
  );
}

const columns = 'STATE     RUN  QUEUE  TASKS/S  ELU                    DELAY p99  HEAP       RESTARTS';

function header(remote: boolean): string {
  return `${'WORKER'.padEnd(16)}${remote ? 'HOST'.padEnd(22) : ''}${columns}`;
}

function line({ worker, rate }: Row, remote: boolean): string {
  const elu = worker.elu === undefined ? '-'.padEnd(21) : `${bar(worker.elu, 14)} ${`${Math.round(worker.elu * 100)}%`.padStart(4)}`;
  return [
    worker.name.padEnd(15).slice(0, 15),
    ...(remote ? [(worker.host ?? 'local').padEnd(21).slice(0, 21)] : []),
    stateOf(worker).padEnd(8),
    String(worker.inFlight).padStart(4),
    String(worker.queued).padStart(6),
    fixed(rate).padStart(8),
    '',
    elu,
    (worker.loopDelay ? `${worker.loopDelay.p99.toFixed(1)} ms` : '-').padStart(10),
    ' ' + mb(worker.heapUsed).padEnd(9),
    String(worker.restarts).padStart(8),
  ].join(' ');
}

function by(sort: SortKey): (a: Row, b: Row) => number {
  const key = (row: Row): number => {
    switch (sort) {
      case 'worker':
        return -row.worker.index;
      case 'tasks/s':
        return row.rate ?? 0;
      case 'elu':
        return row.worker.elu ?? 0;
      case 'heap':
        return row.worker.heapUsed ?? 0;
      case 'restarts':
        return row.worker.restarts;
    }
  };
  return (a, b) => key(b) - key(a) || a.worker.index - b.worker.index;
}

/** `[#####.....]`: a share from 0 to 1 as a bar of `width` cells. */
function bar(share: number, width: number): string {
  const full = Math.round(Math.min(1, Math.max(0, share)) * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

function fixed(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(1);
}

function mb(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

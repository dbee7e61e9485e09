/**
 * Run by test/signals.test.ts in a process of its own: feeds a pool with `stopOnSignals` from
 * an endless source, prints "ready" once results flow, and on SIGINT prints what it took and
 * what came out, as JSON. Arguments: `operator` or `pool`, then `thread` or `process`.
 */
import { interval, map, tap } from 'rxjs';
import { createPool, loopPool } from 'looppool';
import type { StatefulResult, StatefulTask } from '../workers/stateful';
import { workerPath } from './paths';
import { tally } from './tally';

const mode = process.argv[2];
const workerType = process.argv[3] === 'process' ? 'process' : 'thread';
let taken = 0;
let results = 0;
const report = (error?: Error): void => console.log(JSON.stringify({ taken, results, error: error?.name ?? null }));
const workerData = tally(workerType, 16);
const source = interval(2).pipe(
  map((): StatefulTask => ({ kind: 'sleep', ms: 20 })),
  tap(() => taken++),
);
const count = (): void => {
  if (++results === 5) console.log('ready');
};

if (mode === 'operator') {
  source
    .pipe(loopPool<StatefulTask, StatefulResult>(workerPath('stateful.ts'), { size: 2, workerType, workerData, stopOnSignals: true }))
    .subscribe({ next: count, error: report, complete: report });
} else {
  const pool = createPool<StatefulTask, StatefulResult>(workerPath('stateful.ts'), { size: 2, workerType, workerData, stopOnSignals: true });
  pool.process(source).subscribe({ next: count, error: report, complete: report });
}

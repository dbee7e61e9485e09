/**
 * `npx tsx bench/profile-a.ts [rounds] [top]` (after `npm run build`): where the main thread's
 * time goes in scenario (a) of `npm run bench` (200,000 tiny tasks `{ s: 'tiny', x }`, 2
 * threads, `concurrency` 32, `queueSize` 0, a `transfer` function, as bench/contenders.ts), for
 * the operator over a pushed `range` and `pool.process` over a generator, on one pool. After one
 * warm-up of 20,000 each, `rounds` (default 6) paired rounds run the two one right after the
 * other, the first alternating, under the V8 sampling profiler of this thread (the
 * `--cpu-prof` one, started in-process). Per way it prints each round's tasks/s and ratio, how
 * long the operator's source took to push all its inputs (the workers wait meanwhile), then
 * the main thread's time in its rounds: the `top` (default 15) functions by self time
 * (`(idle)`: waiting for the workers; `(garbage collector)`), and its collections (scavenges,
 * mark-compacts, from `perf_hooks`). Figures of one process: compare the two ways, not runs.
 * `BENCH_BASE_DIR=<a checkout built with npm run build>` profiles that build instead (the same
 * bench, another library: a before and after).
 */
import { Session } from 'node:inspector';
import { join, relative, resolve } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { count, lastValueFrom, map, range } from 'rxjs';
import * as looppool from 'looppool';
import type { LoopPool } from 'looppool';

interface Task {
  readonly s: string;
  readonly x: unknown;
}
type Way = 'operator' | 'process';

const rounds = Number(process.argv[2] ?? 6);
const top = Number(process.argv[3] ?? 15);
const total = 200_000;
const make = (x: number): Task => ({ s: 'tiny', x });
const ways: Way[] = ['operator', 'process'];
const build = process.env.BENCH_BASE_DIR ? resolve(process.env.BENCH_BASE_DIR) : join(__dirname, '..');
const { createPool, loopPool } = process.env.BENCH_BASE_DIR ? (require(join(build, 'dist', 'index.js')) as typeof looppool) : looppool;

/** Per operator round, how long its source took to push every input (ms): `lastValueFrom` subscribes at once, and `range` pushes all before it returns. */
const pushes: number[] = [];

function run(pool: LoopPool<Task, unknown>, way: Way, n: number): Promise<number> {
  if (way === 'operator') {
    const started = performance.now();
    const done = lastValueFrom(range(0, n).pipe(map(make), loopPool(pool), count()));
    pushes.push(performance.now() - started);
    return done;
  }
  function* tasks(): Generator<Task> {
    for (let i = 0; i < n; i++) yield make(i);
  }
  return lastValueFrom(pool.process(tasks()).pipe(count()));
}

/** A V8 CPU profile, as the inspector's `Profiler.stop` gives it. */
interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const post = <R>(session: Session, method: string): Promise<R> =>
  new Promise((resolve, reject) => session.post(method, (error, result) => (error ? reject(error) : resolve(result as R))));

/** Each round's way and span, in µs of the profiler's clock (`process.hrtime`) and in ms of `performance.now()`. */
interface Window {
  readonly way: Way;
  readonly from: number;
  readonly to: number;
  readonly fromMs: number;
  readonly toMs: number;
}

const now = (): number => Number(process.hrtime.bigint() / 1000n);

async function main(): Promise<void> {
  const pool = createPool<Task, unknown>(join(__dirname, 'peers', 'looppool.worker.cjs'), { size: 2, concurrency: 32, queueSize: 0, transfer: () => [] });
  await pool.ready;
  for (const way of ways) await run(pool, way, total / 10);
  pushes.length = 0;
  const gcs: Array<{ kind: number; at: number; ms: number }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcs.push({ kind: (entry as PerformanceEntry & { detail: { kind: number } }).detail.kind, at: entry.startTime, ms: entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.start');
  const windows: Window[] = [];
  const rates = new Map<Way, number[]>(ways.map((way) => [way, []]));
  for (let round = 0; round < rounds; round++) {
    for (const way of round % 2 === 0 ? ways : [...ways].reverse()) {
      const [from, fromMs] = [now(), performance.now()];
      if ((await run(pool, way, total)) !== total) throw new Error(`${way}: a result is missing`);
      const [to, toMs] = [now(), performance.now()];
      windows.push({ way, from, to, fromMs, toMs });
      rates.get(way)!.push(total / ((toMs - fromMs) / 1000));
    }
  }
  const { profile } = await post<{ profile: Profile }>(session, 'Profiler.stop');
  session.disconnect();
  observer.disconnect();
  await pool.stop();
  const [operator, pulled] = [rates.get('operator')!, rates.get('process')!];
  console.log(`Node ${process.versions.node}; the build at ${build}; ${rounds} paired rounds of ${total.toLocaleString('en')} tiny tasks on one pool\n`);
  for (const way of ways) console.log(`${way.padEnd(9)} tasks/s: ${rates.get(way)!.map((r) => Math.round(r).toLocaleString('en')).join(', ')}`);
  console.log(`ratios   : ${operator.map((r, i) => (r / pulled[i]!).toFixed(3)).join(', ')}`);
  console.log(`the operator's source pushed its inputs in (ms): ${pushes.map((ms) => ms.toFixed(0)).join(', ')}\n`);
  report(profile, windows, gcs);
}

/** Self time per function and way, from the samples that fall in each way's rounds; the collections of each way. */
function report(profile: Profile, windows: readonly Window[], gcs: ReadonlyArray<{ kind: number; at: number; ms: number }>): void {
  const names = new Map(
    profile.nodes.map(({ id, callFrame: { functionName, url, lineNumber } }) => {
      const file = url.startsWith('file://') ? relative(build, url.slice('file://'.length)) : url;
      return [id, `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`];
    }),
  );
  const self = new Map<Way, Map<string, number>>(ways.map((way) => [way, new Map()]));
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]!;
    const window = windows.find((w) => at >= w.from && at < w.to);
    if (!window) continue;
    const byName = self.get(window.way)!;
    const name = names.get(profile.samples[i]!)!;
    byName.set(name, (byName.get(name) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  }
  const sum = (way: Way): number => [...self.get(way)!.values()].reduce((a, b) => a + b, 0);
  const shown = new Set(ways.flatMap((way) => [...self.get(way)!].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name]) => name)));
  const ms = (way: Way, name: string): string => Math.round(self.get(way)!.get(name) ?? 0).toLocaleString('en');
  console.log(`| main thread, ms of self time | ${ways.join(' | ')} |\n| --- |${' ---: |'.repeat(ways.length)}`);
  console.log(`| all samples in its rounds | ${ways.map((way) => Math.round(sum(way)).toLocaleString('en')).join(' | ')} |`);
  for (const name of [...shown].sort((a, b) => (self.get('operator')!.get(b) ?? 0) - (self.get('operator')!.get(a) ?? 0))) {
    console.log(`| ${name} | ${ways.map((way) => ms(way, name)).join(' | ')} |`);
  }
  const collections = (way: Way, kind: number): string => {
    const mine = gcs.filter((gc) => gc.kind === kind && windows.some((w) => w.way === way && gc.at >= w.fromMs && gc.at < w.toMs));
    return `${mine.length} (${Math.round(mine.reduce((a, gc) => a + gc.ms, 0))} ms)`;
  };
  console.log(`| scavenges | ${ways.map((way) => collections(way, constants.NODE_PERFORMANCE_GC_MINOR)).join(' | ')} |`);
  console.log(`| mark-compacts | ${ways.map((way) => collections(way, constants.NODE_PERFORMANCE_GC_MAJOR)).join(' | ')} |`);
}

void main();

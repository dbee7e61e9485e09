/**
 * A probe of scenario (a) of `npm run bench` (issue 25, item 9), not part of any bench: why
 * `pool.process`'s figure jumps between about 222,000 and 450,000 tasks/s between runs of one
 * build, and why the operator over a pushed `range` trails it. It runs the scenario's tiny
 * tasks (`{ s: 'tiny', x }`, 2 threads, `concurrency` 32, `queueSize` 0, a `transfer` function,
 * as bench/contenders.ts) through each way named, one warm-up of 20,000 and `rounds` timed runs
 * of 200,000, and prints per round what tells the suspected causes apart:
 *
 * - `elu`: the main thread's event-loop utilization. Near 1: the main thread is the bottleneck;
 *   well below: it waits for the workers (latency, or the two workers in phase).
 * - `cpu`: the main thread's CPU time over the wall time, from /proc; `cpus`: how busy each of
 *   the machine's CPUs was (a CPU near 100% beside one mostly idle: the threads were packed on
 *   one vCPU, which this VM's kernel may do: `kernel.sched_vcpu_pack`).
 * - `gc`: the main thread's scavenges / mark-compacts, and their milliseconds.
 * - `posts`, `t/post`, `slow`, `least`: the main thread's posts to the workers, triples a post,
 *   posts slower than the batcher's 0.2 ms target (each shrinks the batch limit), and the
 *   least limit seen; `paired`: the share of posts that followed a post to the other worker
 *   within 50 µs (about 50% when both workers are refilled in the same turn, in phase; near 0
 *   when they take turns); `reads`, `t/read`: the messages read from the workers.
 * - `w0`, `w1`: the same counts on each worker's side (bench/peers/probe.worker.cjs).
 * - `push`: the operator's source, pushed in full before the first task is posted (ms); `first`:
 *   the time to the first result (ms).
 * - `threads`: the 5 threads of this process that used the most CPU in the round: name, tid,
 *   CPU ms, and the CPU each last ran on.
 *
 * `npx tsx bench/probe-a.ts [ways] [rounds]` (after `npm run build`); ways, in the order run:
 * `operator,process` by default, the order of bench/contenders.ts. Environment:
 * - `PROBE_FRESH=1`: a new pool for every round (bench:ab's way), not one pool per way
 *   (bench/scenario.ts's): a state that belongs to a pool (its threads' placement, its batch
 *   limits) then varies round to round instead of run to run.
 * - `PROBE_FIXED_BATCH=1`: both ends keep batches at the batcher's most (1,024 triples), with
 *   no adapting to how long a post took.
 * - `PROBE_FLUSH_AT=n`: the main thread posts a worker's tasks as soon as n wait for it, not
 *   only at the end of the turn (n = 16: two messages of 16 in flight per worker).
 * - `PROBE_PLAIN=1`: the tasks are plain numbers (bench:ab's), not `{ s, x }` objects: what
 *   keeping 200,000 objects waiting costs the operator's pushed source.
 * - `PROBE_NO_TRACE=1`: no input makes a span, as if `@opentelemetry/api` (a devDependency,
 *   so installed here) were not.
 * - `PROBE_SPREAD=1`: once each pool is ready, the main thread is pinned to CPU 0 and the
 *   threads the pool started to CPU 1 (`taskset -p`), so that no scheduler can pack them on one.
 * - `PROBE_SCENARIO=g`: scenario (g) instead: tasks of about 30 µs (`BENCH_BURN_PER_MS`
 *   calibrated here), 2 workers and every other option at its default; `limits` then shows
 *   where each worker's adaptive limit settled.
 *
 * Thread CPU is read in ticks of 10 ms (CLK_TCK 100).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { count, lastValueFrom, map, range, tap } from 'rxjs';
import { createPool, loopPool, type LoopPool } from 'looppool';

interface Task {
  readonly s: string;
  readonly x: unknown;
}
type Pool = LoopPool<Task, unknown>;

/** One end's posts and reads, as counted by the patches below and by the probe worker. */
interface PortCounts {
  posts: number;
  triples: number;
  slow: number;
  leastLimit: number;
  reads: number;
  readTriples: number;
}

const total = 200_000;
const ways = (process.argv[2] ?? 'operator,process').split(',');
const rounds = Number(process.argv[3] ?? 5);
const fresh = process.env.PROBE_FRESH === '1';
const fixedBatch = process.env.PROBE_FIXED_BATCH === '1';
const flushAt = Number(process.env.PROBE_FLUSH_AT ?? 0);
const spread = process.env.PROBE_SPREAD === '1';
const dist = join(__dirname, '..', 'dist');
const plain = process.env.PROBE_PLAIN === '1';
/** Scenario (g) of the bench: tasks of about 30 µs, every option at its default (the adaptive `queueSize`). */
const defaults = process.env.PROBE_SCENARIO === 'g';
const make = (x: number): Task => (plain ? (x as unknown as Task) : { s: defaults ? 'small' : 'tiny', x });

// ---- counting the main thread's posts and reads (patches on this build's dist) ----------

type Method = (this: Record<string, unknown>, ...args: unknown[]) => unknown;
const load = (path: string, name: string): { prototype: Record<string, Method> } =>
  (require(join(dist, path)) as Record<string, { prototype: Record<string, Method> }>)[name]!;
const Batcher = load('transport/batcher.js', 'Batcher');
const BatchPort = load('transport/batchPort.js', 'BatchPort');
const Outbox = load('transport/outbox.js', 'Outbox');

const zero = (): PortCounts & { calls: number; paired: number } => ({ posts: 0, triples: 0, slow: 0, leastLimit: 1024, reads: 0, readTriples: 0, calls: 0, paired: 0 });
let here = zero();

const adapt = Batcher.prototype.adapt!;
Batcher.prototype.adapt = function (triples, elapsed) {
  here.posts++;
  here.triples += triples as number;
  if ((elapsed as number) > 0.2) here.slow++;
  if (!fixedBatch) adapt.call(this, triples, elapsed);
  here.leastLimit = Math.min(here.leastLimit, this.limit as number);
};
let lastBatcher: unknown;
let lastPostEnd = -Infinity;
const post = Batcher.prototype.post!;
Batcher.prototype.post = function (...args) {
  if (this !== lastBatcher && performance.now() - lastPostEnd < 0.05) here.paired++;
  here.calls++;
  post.apply(this, args);
  lastBatcher = this;
  lastPostEnd = performance.now();
};
const receive = BatchPort.prototype.receive!;
BatchPort.prototype.receive = function (batch) {
  here.reads++;
  here.readTriples += (batch as unknown[]).length / 3;
  return receive.call(this, batch);
};
if (process.env.PROBE_NO_TRACE === '1') {
  // Every input then skips its no-op span (job.ts: `tracing?.task`), as without @opentelemetry/api installed.
  (require(join(dist, 'otel/tracing.js')) as { tracingFor: () => undefined }).tracingFor = () => undefined;
}
if (flushAt > 0) {
  const add = Outbox.prototype.add!;
  Outbox.prototype.add = function (...args) {
    add.apply(this, args);
    if ((this.triples as unknown[]).length >= flushAt * 3) (this.flush as () => void)();
  };
}

// ---- the machine: threads' CPU, CPUs' load, GC ------------------------------------------------

/** CPU ticks (1/100 s) of every thread of this process, by thread id, with its name and last CPU. */
function threadTicks(): Map<string, { name: string; ticks: number; cpu: string }> {
  const threads = new Map<string, { name: string; ticks: number; cpu: string }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      threads.set(tid, { name, ticks: Number(fields[11]) + Number(fields[12]), cpu: fields[36] ?? '?' });
    } catch {
      // the thread ended meanwhile
    }
  }
  return threads;
}

/** Each CPU's busy and total ticks so far (/proc/stat: all but idle and iowait is busy). */
function cpuTicks(): Array<{ busy: number; total: number }> {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((line) => /^cpu\d/.test(line))
    .map((line) => {
      const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
      const total = ticks.reduce((a, b) => a + b, 0);
      return { busy: total - ticks[3]! - ticks[4]!, total };
    });
}

const gc = { minor: 0, major: 0, ms: 0 };
const gcWatch = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
    gc.ms += entry.duration;
  }
});
gcWatch.observe({ entryTypes: ['gc'] });

// ---- the ways --------------------------------------------------------------------------

/** Runs `n` tasks one way; `marks` gets the times (performance.now()) of the source's end and of the first result. */
function runWay(way: string, pool: Pool, n: number, marks: { pushed?: number; first?: number }): Promise<number> {
  const first = tap<unknown>(() => (marks.first ??= performance.now()));
  if (way === 'operator') {
    const source = range(0, n).pipe(map(make), tap({ complete: () => (marks.pushed = performance.now()) }));
    return lastValueFrom(source.pipe(loopPool(pool), first, count()));
  }
  if (way === 'process') {
    const tasks = function* (): Generator<Task> {
      for (let i = 0; i < n; i++) yield make(i);
    };
    return lastValueFrom(pool.process(tasks()).pipe(first, count()));
  }
  throw new RangeError(`Unknown way ${way}; expected operator or process`);
}

const startPool = async (): Promise<Pool> => {
  const options = defaults ? { size: 2 } : { size: 2, concurrency: 32, queueSize: 0, transfer: () => [] };
  const before = new Set(readdirSync('/proc/self/task'));
  const pool = createPool<Task, unknown>(join(__dirname, 'peers', 'probe.worker.cjs'), options);
  await pool.ready;
  if (spread) {
    // `taskset -p` sets the affinity of the one thread whose id it is given.
    const added = readdirSync('/proc/self/task').filter((tid) => !before.has(tid));
    execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
    for (const tid of added) execFileSync('taskset', ['-pc', '1', tid], { stdio: 'ignore' });
    console.log(`pinned the main thread to CPU 0 and the pool's new threads (${added.join(', ')}) to CPU 1`);
  }
  return pool;
};

/** The tasks each worker may hold now (engine/capacity.ts): `concurrency + queueSize`, or what the adaptive default has reached. */
const limits = (pool: Pool): number[] =>
  (pool as unknown as { engine: { slots: Array<{ capacity: { limit: number } }> } }).engine.slots.map((slot) => slot.capacity.limit);

const probeWorkers = (pool: Pool): Promise<PortCounts[]> =>
  Promise.all([0, 1].map((worker) => pool.run({ s: 'probe', x: 0 }, { worker }) as Promise<PortCounts>));

const ends = (c: PortCounts): string =>
  `posts ${c.posts} t/post ${(c.triples / Math.max(1, c.posts)).toFixed(1)} slow ${c.slow} least ${c.leastLimit} ` +
  `reads ${c.reads} t/read ${(c.readTriples / Math.max(1, c.reads)).toFixed(1)}`;

async function round(way: string, pool: Pool, index: number): Promise<number> {
  await probeWorkers(pool); // counts start now
  here = zero();
  Object.assign(gc, { minor: 0, major: 0, ms: 0 });
  const threadsBefore = threadTicks();
  const cpusBefore = cpuTicks();
  const eluBefore = performance.eventLoopUtilization();
  const marks: { pushed?: number; first?: number } = {};
  const started = performance.now();
  const done = await runWay(way, pool, total, marks);
  const ms = performance.now() - started;
  if (done !== total) throw new Error(`${way}: ${done} of ${total} results`);
  const elu = performance.eventLoopUtilization(eluBefore).utilization;
  const cpus = cpuTicks()
    .map((cpu, at) => `${Math.round((100 * (cpu.busy - cpusBefore[at]!.busy)) / Math.max(1, cpu.total - cpusBefore[at]!.total))}%`)
    .join('/');
  const threads = [...threadTicks()].map(([tid, t]) => ({ tid, ...t, ticks: t.ticks - (threadsBefore.get(tid)?.ticks ?? 0) }));
  await new Promise((resolve) => setImmediate(resolve)); // the GC entries of the round
  const [w0, w1] = await probeWorkers(pool);
  const mainCpu = (threads.find((t) => t.tid === String(process.pid))?.ticks ?? 0) * 10;
  const top = threads
    .sort((a, b) => b.ticks - a.ticks)
    .slice(0, 5)
    .map((t) => `${t.name}#${t.tid}:${t.ticks * 10}ms@${t.cpu}`)
    .join(' ');
  const rate = total / (ms / 1000);
  console.log(
    `${way} r${index} ${Math.round(rate).toLocaleString('en')}/s | elu ${elu.toFixed(2)} cpu ${(mainCpu / ms).toFixed(2)} ` +
      `cpus ${cpus} | ` +
      `gc ${gc.minor}/${gc.major} ${gc.ms.toFixed(1)}ms | main ${ends(here)} paired ${((100 * here.paired) / Math.max(1, here.calls)).toFixed(0)}% | ` +
      `w0 ${ends(w0!)} | w1 ${ends(w1!)} | limits ${limits(pool).join('/')} | ` +
      `${marks.pushed === undefined ? '' : `push ${(marks.pushed - started).toFixed(1)}ms `}first ${((marks.first ?? started) - started).toFixed(1)}ms | ${top}`,
  );
  return rate;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main(): Promise<void> {
  if (defaults) process.env.BENCH_BURN_PER_MS ??= String((require('./peers/tasks.cjs') as { calibrate(): number }).calibrate());
  console.log(`Node ${process.versions.node}; scenario ${defaults ? 'g' : 'a'}; ways ${ways.join(', ')}; ${rounds} rounds; fresh ${fresh}; fixed batch ${fixedBatch}; flush at ${flushAt || 'turn end'}; plain ${plain}; spread ${spread}`);
  const medians = new Map<string, number>();
  for (const way of ways) {
    let pool = fresh ? undefined : await startPool();
    if (pool) await runWay(way, pool, total / 10, {});
    const rates: number[] = [];
    for (let index = 0; index < rounds; index++) {
      if (fresh) {
        pool = await startPool();
        await runWay(way, pool, total / 10, {});
      }
      rates.push(await round(way, pool!, index));
      if (fresh) await pool!.stop();
    }
    if (!fresh) await pool!.stop();
    medians.set(way, median(rates));
    console.log(`${way}: median ${Math.round(median(rates)).toLocaleString('en')} tasks/s`);
  }
  gcWatch.disconnect();
  const [operator, pulled] = [medians.get('operator'), medians.get('process')];
  if (operator !== undefined && pulled !== undefined) console.log(`operator / pool.process: ${(operator / pulled).toFixed(3)}`);
}

void main();

/**
 * `npx tsx bench/job-cost.ts [rounds]` (after `npm run build`): what a job itself costs the main
 * thread per input, with no workers and no messages, so that a busy machine moves it little:
 * the engine's `Job` (dist/engine/job.js, with the pool's tracing: `@opentelemetry/api` is
 * installed here, no tracer provider registered) takes 200,000 tiny inputs and hands each to a
 * taker that ends it at once, two ways: `burst`, every input pushed before the first starts
 * (the operator over a pushed `range`), and `one by one`, each pushed and started in turn (what
 * `pool.process` does with a sync iterable). After 3 warm-up rounds of each, `rounds` (default
 * 10) rounds of each, alternating; prints the median ns per input and the young-generation
 * collections per round. `BENCH_BASE_DIR=<a checkout built with npm run build>` runs that
 * build's job too, in the same rounds, for a before and after.
 */
import { join, resolve } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';

interface Task {
  readonly s: string;
  readonly x: number;
}
/** What this bench uses of a build's dist/engine/job.js and dist/otel/tracing.js (internal, untyped on purpose). */
interface Internals {
  Job: new (host: object, sink: object, options: object) => {
    push(input: Task): number;
    nextStartable(): object | undefined;
    start(task: object, taker: object): void;
    completed(task: object): void;
  };
  tracingFor(name: string): unknown;
}

const rounds = Number(process.argv[2] ?? 10);
const total = 200_000;
const ways = ['burst', 'one by one'] as const;
const builds = [join(__dirname, '..'), ...(process.env.BENCH_BASE_DIR ? [resolve(process.env.BENCH_BASE_DIR)] : [])];
const inputs = Array.from({ length: total }, (_, x): Task => ({ s: 'tiny', x }));
/** One handle for every task: a closure made per task would cost this bench more than the job (tsx names each one). */
const handed = { cancel: () => {} };
const taker = { handOver: () => handed };
const sink = { next: () => {}, error: () => {}, complete: () => {}, closed: false };

function internals(build: string): Internals {
  const { Job } = require(join(build, 'dist', 'engine', 'job.js')) as Pick<Internals, 'Job'>;
  const { tracingFor } = require(join(build, 'dist', 'otel', 'tracing.js')) as Pick<Internals, 'tracingFor'>;
  return { Job, tracingFor };
}

/** One round: `total` inputs through a fresh job; its ns per input. */
function round({ Job, tracingFor }: Internals, way: (typeof ways)[number]): number {
  const host = { enqueue: () => {}, pump: () => {}, detach: () => {}, noteDropped: () => {}, tracing: tracingFor('job-cost') };
  const job = new Job(host, sink, { ordered: false, bufferSize: 1024, failFast: true });
  const started = performance.now();
  if (way === 'burst') {
    for (const input of inputs) job.push(input);
    for (let task = job.nextStartable(); task; task = job.nextStartable()) {
      job.start(task, taker);
      job.completed(task);
    }
  } else {
    for (const input of inputs) {
      job.push(input);
      const task = job.nextStartable()!;
      job.start(task, taker);
      job.completed(task);
    }
  }
  return ((performance.now() - started) * 1e6) / total;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  const jobs = builds.map(internals);
  let scavenges = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry as PerformanceEntry & { detail: { kind: number } }).detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
  });
  observer.observe({ entryTypes: ['gc'] });
  const figures = builds.map(() => ways.map(() => ({ ns: [] as number[], scavenges: [] as number[] })));
  for (let r = -3; r < rounds; r++) {
    for (const [b, job] of (r % 2 === 0 ? jobs : [...jobs].reverse()).map((j) => [jobs.indexOf(j), j] as const)) {
      for (const [w, way] of ways.entries()) {
        const before = scavenges;
        const ns = round(job, way);
        await new Promise((resolve) => setTimeout(resolve, 1)); // the observer hears of the round's collections
        if (r >= 0) {
          figures[b]![w]!.ns.push(ns);
          figures[b]![w]!.scavenges.push(scavenges - before);
        }
      }
    }
  }
  observer.disconnect();
  console.log(`Node ${process.versions.node}; ${rounds} rounds of ${total.toLocaleString('en')} inputs\n`);
  console.log('| build | way | ns per input (median) | scavenges per round (median) |\n| --- | --- | ---: | ---: |');
  builds.forEach((build, b) =>
    ways.forEach((way, w) => console.log(`| ${build} | ${way} | ${median(figures[b]![w]!.ns).toFixed(0)} | ${median(figures[b]![w]!.scavenges)} |`)),
  );
}

void main();

/**
 * `npm run soak:cluster`: the chaos soak of the cluster transport (issue 21). Real parts only:
 * three nats-servers joined by routes on free loopback ports, `SOAK_HOSTS` `looppool-worker`
 * hosts (default 3, `SOAK_THREADS` threads each, default 2) started through the built
 * package's bin as a user runs them, each reaching every server through a TCP proxy of its own,
 * and one pool (`createPool`, `size` `SOAK_SIZE`, default 4, `concurrency` 4, `retries`
 * `SOAK_RETRIES`, default 3, `taskTimeout` `SOAK_TASK_TIMEOUT` ms, default 1,000, 0 for none,
 * `nats({ servers: the three, ackWait: SOAK_ACK_WAIT })`, default 3,000) given the three servers.
 * The pool runs `SOAK_TASKS` small healthy tasks (default 100,000: nine in ten return their id at
 * once, one in ten after 1 to 9 ms) with `pool.process`, pulled from a generator, in each of
 * `SOAK_MODES` (default `unordered,ordered,settle`), while a loop (bench/soakCluster.chaos.ts)
 * injects one fault at a time, 0.5 to 2.5 s apart, drawn from `SOAK_FAULTS` (default: all):
 * SIGKILL or SIGTERM of a host (a new one takes its place), SIGKILL or SIGTERM of a server
 * (back on its port), a host's link cut (connections reset) or blackholed (packets held), for
 * less than `ackWait` or for longer. `SOAK_SEED` repeats a run's faults and tasks (it is printed
 * first; the timing of each fault against the run still varies). `SOAK_STALL` (ms, default
 * 60,000): a mode that yields nothing for that long is cut short.
 *
 * Every input's fate is checked; these counts must all be 0, or the soak exits with 1:
 *
 * - lost: an input never reported (the output completed without it, or stalled);
 * - duplicated: an input reported more than once (two values, or a value and a failure);
 * - misblamed: an input that failed although its worker was healthy, and a healthy worker
 *   that the pool counted crashed or lost. Every task is healthy, so the only excuse is a
 *   fault of this soak on the worker's host: a failure is excused only when it is a
 *   `WorkerCrashError` or a `TaskTimeoutError` of a worker that a host served when the host
 *   was SIGKILLed (or SIGTERMed and still running 30 s later), or when its link was down for
 *   `ackWait` - 750 ms or more (from the fault to the host's next connection through its
 *   proxies), at most `ackWait` + `taskTimeout` + `gracePeriod` + 5 s after the fault was over;
 *   when the error names a host (a lost host's `cause`), it must be that host. A worker's end
 *   (a `WorkerCrashError` or `WorkerLoadError` reported to `onError`) is excused by the same
 *   faults and also by a host's graceful stop (SIGTERM), whose workers end (a fixed pool
 *   reports that as a crash and replaces them) but whose tasks must not fail. Any other error
 *   (`TaskError`, `SerializationError`, an error naming no input) is misblamed. A server's
 *   fault, and a link down for less than `ackWait` - 750 ms, excuse nothing: pool and hosts
 *   go on through another server or wait for theirs, and must neither fail a task nor end a
 *   worker. A task charged a retry for a crash shows as its worker's end, so `retries` hides
 *   no misblame; `taskTimeout` is short (1 s) so that a short outage outlasts it: a healthy
 *   task timed out, or a healthy worker killed for not answering, because its messages waited
 *   for the link, is counted;
 * - wrong: a value that is not its input's id; misordered (ordered mode): a value before
 *   one of an earlier input; hosts died: a host that exited without this soak ending it, or
 *   did not connect again within 30 s of its link healing.
 *
 * In unordered and ordered mode a failure ends the output (that is the mode): the soak then
 * runs the inputs not yet reported again (`resubmitted`), so that each input's fate is still
 * counted. Prints each fault as it ends, a line per mode with tasks/s (faults included), then
 * the counts. Everything it starts it stops, also on Ctrl-C. Needs nats-server on PATH.
 *
 *   SOAK_TASKS=20000 SOAK_SEED=7 npm run soak:cluster
 */
import { join } from 'node:path';
import type { Observable, Subscription } from 'rxjs';
import { createPool, TaskTimeoutError, WorkerCrashError, WorkerLoadError, type LoopPool, type LoopPoolError, type Settled } from 'looppool';
import { MessagesLostError, nats } from 'looppool/nats';
import { natsInstalled } from '../test/support/nats';
import { within } from '../test/support/until';
import { random } from '../test/support/random';
import { Chaos, faultKinds, lossMargin, Rig, type Fault, type FaultKind } from './soakCluster.chaos';

const worker = join(__dirname, 'soakCluster.worker.js');
const modes = ['unordered', 'ordered', 'settle'] as const;
type Mode = (typeof modes)[number];
type SoakTask = { readonly id: number; readonly ms: number };

/** The pool's default `gracePeriod`, for the aftermath of a fault. */
const gracePeriod = 1_000;

function integer(name: string, fallback: number, least: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < least) throw new RangeError(`Expected ${name} to be an integer of at least ${least}, got ${JSON.stringify(text)}`);
  return value;
}

function list<K extends string>(name: string, known: readonly K[]): K[] {
  const text = process.env[name];
  if (text === undefined || text === '') return [...known];
  const chosen = text.split(',').map((item) => item.trim());
  const unknown = chosen.filter((item) => !(known as readonly string[]).includes(item));
  if (unknown.length > 0) throw new TypeError(`Unknown ${name} value ${unknown.join(', ')}; expected some of: ${known.join(', ')}`);
  return chosen as K[];
}

const settings = {
  tasks: integer('SOAK_TASKS', 100_000, 1),
  seed: integer('SOAK_SEED', Math.floor(Math.random() * 2 ** 31), 0),
  modes: list('SOAK_MODES', modes),
  faults: list<FaultKind>('SOAK_FAULTS', faultKinds),
  hosts: integer('SOAK_HOSTS', 3, 1),
  threads: integer('SOAK_THREADS', 2, 1),
  size: integer('SOAK_SIZE', 4, 1),
  retries: integer('SOAK_RETRIES', 3, 0),
  taskTimeout: integer('SOAK_TASK_TIMEOUT', 1_000, 0),
  ackWait: integer('SOAK_ACK_WAIT', 3_000, 1_000),
  stall: integer('SOAK_STALL', 60_000, 1_000),
};

/** A failure reported for an input, or an output error that named none. */
interface Failure {
  readonly mode: Mode;
  readonly id: number | undefined;
  readonly error: unknown;
  readonly at: number;
}

interface ModeResult {
  readonly mode: Mode;
  readonly seconds: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly wrong: number;
  readonly misordered: number;
  readonly resubmitted: number;
  readonly stalled: boolean;
  readonly failures: Failure[];
  readonly faults: number;
  /** The first few inputs lost and duplicated, for the log. */
  readonly examples: string[];
}

/** The mode running now and its count of reported inputs, for the fault log. */
let progress = '';
/** Set on Ctrl-C: the modes stop submitting. */
let interrupted = false;
const t0 = performance.now();
const clock = (at: number): string => `+${((at - t0) / 1000).toFixed(1)}s`;

function inputsFor(seed: number): SoakTask[] {
  const next = random(seed);
  return Array.from({ length: settings.tasks }, (_, id) => {
    const [roll, wait] = [next(), next()];
    return { id, ms: roll < 0.9 ? 0 : 1 + Math.floor(wait * 9) };
  });
}

function* pull(tasks: readonly SoakTask[]): Generator<SoakTask> {
  for (const task of tasks) yield task;
}

/** Runs `inputs` through `pool` in `mode` until each is reported or the run stalls. */
async function runMode(pool: LoopPool<SoakTask, number>, mode: Mode, inputs: readonly SoakTask[], chaos: Chaos): Promise<ModeResult> {
  const seen = new Uint16Array(inputs.length);
  const failures: Failure[] = [];
  let wrong = 0;
  let misordered = 0;
  let resubmitted = -1;
  let stalled = false;
  let reported = 0;
  const started = performance.now();
  const faultsBefore = chaos.faults.length;
  let pending: readonly SoakTask[] = inputs;
  while (pending.length > 0 && resubmitted < 10_000 && !interrupted) {
    resubmitted++;
    const submission = pending;
    /** Each input's place in this submission, to tell order in ordered mode. */
    const place = new Int32Array(inputs.length);
    submission.forEach((task, at) => (place[task.id] = at));
    let last = -1;
    let lastSeen = performance.now();
    let subscription: Subscription | undefined;
    let watch: NodeJS.Timeout | undefined;
    const ended = await new Promise<{ error?: unknown; stalled?: true }>((resolve) => {
      watch = setInterval(() => performance.now() - lastSeen > settings.stall && resolve({ stalled: true }), 1_000);
      const reportInput = (id: number, failure?: unknown): void => {
        lastSeen = performance.now();
        progress = `${mode} ${++reported}/${inputs.length}`;
        seen[id]!++;
        if (failure !== undefined) failures.push({ mode, id, error: failure, at: lastSeen });
      };
      const output: Observable<number | Settled<SoakTask, number>> =
        mode === 'settle'
          ? pool.process(pull(submission), { settle: true })
          : pool.process(pull(submission), mode === 'ordered' ? { ordered: true } : {});
      subscription = output.subscribe({
        next: (out: number | Settled<SoakTask, number>) => {
          if (typeof out === 'object') {
            if (out.status === 'fulfilled' && out.value !== out.input.id) wrong++;
            return reportInput(out.input.id, out.status === 'rejected' ? (out.reason ?? new Error('rejected with no reason')) : undefined);
          }
          if (!Number.isInteger(out) || out < 0 || out >= inputs.length) return void wrong++;
          if (mode === 'ordered' && place[out]! < last) misordered++;
          last = place[out]!;
          reportInput(out);
        },
        error: (error: unknown) => resolve({ error }),
        complete: () => resolve({}),
      });
    });
    clearInterval(watch);
    subscription?.unsubscribe();
    if (ended.stalled) {
      stalled = true;
      console.log(`${clock(performance.now())} ${mode}: nothing for ${settings.stall} ms; the pool's workers: ${describeWorkers(pool)}`);
      break;
    }
    if (ended.error === undefined) break; // completed: what it did not report is lost
    const index = (ended.error as { index?: unknown }).index;
    const failed = typeof index === 'number' ? submission[index] : undefined;
    if (failed) {
      seen[failed.id]!++;
      failures.push({ mode, id: failed.id, error: ended.error, at: performance.now() });
    } else failures.push({ mode, id: undefined, error: ended.error, at: performance.now() });
    pending = submission.filter((task) => seen[task.id] === 0);
  }
  let lost = 0;
  let duplicated = 0;
  const examples: string[] = [];
  seen.forEach((times, id) => {
    if (times === 1) return;
    if (times === 0) lost++;
    else duplicated++;
    if (examples.length < 10) examples.push(`${times === 0 ? 'lost' : `reported ${times} times`}: ${mode} input ${id} (${inputs[id]!.ms} ms)`);
  });
  return {
    mode,
    seconds: (performance.now() - started) / 1000,
    lost,
    duplicated,
    wrong,
    misordered,
    resubmitted: Math.max(0, resubmitted),
    stalled,
    failures,
    faults: chaos.faults.length - faultsBefore,
    examples,
  };
}

function describeWorkers(pool: LoopPool<SoakTask, number>): string {
  return pool
    .stats()
    .workers.map((w) => `#${w.index} ${w.host ?? 'no host'} live ${w.live} inFlight ${w.inFlight} queued ${w.queued} restarts ${w.restarts}`)
    .join('; ');
}

/** The host an error names: a lost host's `cause` says `host <hostname:pid> ...`, or is a MessagesLostError. */
function hostNamed(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof MessagesLostError) return cause.host;
  return cause instanceof Error ? /\bhost (\S+:\d+)/.exec(cause.message)?.[1] : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The fault that began last before `at`, for the log of a problem. */
function nearest(faults: readonly Fault[], at: number): string {
  const fault = faults.filter((candidate) => candidate.start <= at).at(-1);
  return fault ? `last fault before it: ${fault.kind} of ${fault.target} at ${clock(fault.start)}` : 'no fault before it';
}

async function main(): Promise<void> {
  if (!natsInstalled) {
    console.log('soak:cluster needs nats-server: apt-get install -y nats-server');
    process.exitCode = 2;
    return;
  }
  console.log(
    `soak:cluster seed ${settings.seed} (SOAK_SEED=${settings.seed} repeats it): node ${process.version}; 3 nats-servers (routes), ` +
      `${settings.hosts} hosts × ${settings.threads} threads behind TCP proxies; pool size ${settings.size}, concurrency 4, ` +
      `retries ${settings.retries}, taskTimeout ${settings.taskTimeout || 'none'}, ackWait ${settings.ackWait}; ` +
      `${settings.tasks} tasks per mode (${settings.modes.join(', ')}); faults: ${settings.faults.join(', ')}`,
  );
  const name = `soak${process.pid}`;
  const rig = await Rig.start({ worker, pool: name, hosts: settings.hosts, threads: settings.threads, ackWait: settings.ackWait });
  const ends: Array<{ readonly error: LoopPoolError; readonly at: number }> = [];
  let pool: LoopPool<SoakTask, number> | undefined;
  let chaos: Chaos | undefined;
  let tornDown: Promise<void> | undefined;
  /** Stops the fault loop, the pool (given 5 s), then the hosts, the proxies and the servers; once. */
  const teardown = (): Promise<void> =>
    (tornDown ??= (async () => {
      chaos?.halt();
      const terminated = pool?.terminate().catch(() => undefined);
      await Promise.race([terminated, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      await rig.stop();
    })());
  const interrupt = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.exitCode = 130;
    console.log(`\n${signal}: stopping the pool, the hosts, the proxies and the servers`);
    void teardown().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    pool = createPool<SoakTask, number>(worker, {
      size: settings.size,
      concurrency: 4,
      retries: settings.retries,
      maxRestarts: 1_000_000,
      ...(settings.taskTimeout > 0 ? { taskTimeout: settings.taskTimeout } : {}),
      transport: nats({ servers: rig.cluster.urls, pool: name, ackWait: settings.ackWait }),
      onError: (error) => {
        // A worker's end; a task's failure (which names its input) is counted at the output.
        const index = (error as { index?: unknown }).index;
        if ((error instanceof WorkerCrashError && index === undefined) || error instanceof WorkerLoadError) ends.push({ error, at: performance.now() });
      },
    });
    const running = pool;
    await within(running.ready, 60_000, "the pool's workers were not all served within 60 s");
    chaos = new Chaos(
      rig,
      {
        seed: settings.seed,
        kinds: settings.faults,
        ackWait: settings.ackWait,
        aftermath: settings.ackWait + settings.taskTimeout + gracePeriod + 5_000,
      },
      () => running.stats().workers,
      (fault) => console.log(`${clock(fault.start)} [${progress}] ${fault.kind} of ${fault.target}: ${fault.detail}`),
    );
    const results: ModeResult[] = [];
    for (const [at, mode] of settings.modes.entries()) results.push(await runMode(running, mode, inputsFor(settings.seed + 1 + at), chaos));
    const chaosFailed = await chaos.stop().then(
      () => false,
      () => true,
    );
    await running.terminate();
    if (interrupted) return;
    process.exitCode = report(results, ends, chaos, rig) ? 0 : 1;
    if (chaosFailed) {
      console.log('the fault loop failed before the end (see its error above): the run is not a valid soak');
      process.exitCode = 2;
    }
  } finally {
    await teardown();
  }
}

/** Prints the verdicts; @returns whether every count is 0. */
function report(results: readonly ModeResult[], ends: ReadonlyArray<{ error: LoopPoolError; at: number }>, chaos: Chaos, rig: Rig): boolean {
  const problems: string[] = [];
  const misblamedBy = (failures: readonly Failure[]): number =>
    failures.filter((failure) => {
      const { error, at } = failure;
      const excusable = error instanceof WorkerCrashError || error instanceof TaskTimeoutError;
      const fault = excusable && chaos.excuse({ at, workerIndex: error.workerIndex, label: hostNamed(error), failure: true });
      if (fault) return false;
      problems.push(`misblamed: ${failure.mode} input ${failure.id ?? '(none named)'} at ${clock(at)}: ${describe(error)} (${nearest(chaos.faults, at)})`);
      return true;
    }).length;
  console.log('\nmode       tasks    seconds  tasks/s  faults  lost  duplicated  misblamed  excused  wrong  misordered  resubmitted');
  const totals = { lost: 0, duplicated: 0, misblamed: 0, wrong: 0, misordered: 0 };
  for (const result of results) {
    const misblamed = misblamedBy(result.failures);
    const excused = result.failures.length - misblamed;
    totals.lost += result.lost;
    totals.duplicated += result.duplicated;
    totals.misblamed += misblamed;
    totals.wrong += result.wrong;
    totals.misordered += result.misordered;
    problems.push(...result.examples);
    console.log(
      `${result.mode.padEnd(9)}  ${String(settings.tasks).padStart(6)}  ${result.seconds.toFixed(1).padStart(7)}  ` +
        `${Math.round(settings.tasks / result.seconds).toString().padStart(7)}  ${String(result.faults).padStart(6)}  ${String(result.lost).padStart(4)}  ` +
        `${String(result.duplicated).padStart(10)}  ${String(misblamed).padStart(9)}  ${String(excused).padStart(7)}  ${String(result.wrong).padStart(5)}  ` +
        `${String(result.misordered).padStart(10)}  ${String(result.resubmitted).padStart(11)}${result.stalled ? '  STALLED' : ''}`,
    );
  }
  const misblamedEnds = ends.filter(({ error, at }) => {
    const workerIndex = (error as { workerIndex?: number }).workerIndex;
    if (chaos.excuse({ at, workerIndex, label: hostNamed(error), failure: false })) return false;
    problems.push(`misblamed: worker ${workerIndex} ended at ${clock(at)}: ${describe(error)} (${nearest(chaos.faults, at)})`);
    return true;
  }).length;
  const byKind = new Map<FaultKind, number>();
  for (const fault of chaos.faults) byKind.set(fault.kind, (byKind.get(fault.kind) ?? 0) + 1);
  const outages = (long: boolean): string => {
    const figures = chaos.faults
      .filter((fault) => fault.outage !== undefined && fault.kind.startsWith('link') && fault.kind.endsWith('-long') === long)
      .map((fault) => fault.outage!);
    return figures.length === 0 ? 'none' : `${Math.min(...figures)} to ${Math.max(...figures)} ms`;
  };
  console.log(
    `\nfaults injected: ${chaos.faults.length} (${[...byKind].map(([kind, n]) => `${kind} ${n}`).join(', ')}); ` +
      `link outages (fault to the host's next connection), short: ${outages(false)}, long: ${outages(true)}; ` +
      `a link down ackWait - ${lossMargin} ms or more may lose its host`,
  );
  console.log(`workers ended: ${ends.length} (${ends.length - misblamedEnds} excused by a fault on their host, ${misblamedEnds} misblamed)`);
  const gaveUp = rig.started.reduce((sum, host) => sum + (host.output().match(/stopped worker .*: its pool was not heard from/g)?.length ?? 0), 0);
  console.log(`hosts that stopped a worker because the pool was silent for ackWait: ${gaveUp} time(s)`);
  for (const line of rig.died) problems.push(`host died: ${line}`);
  for (const line of problems.slice(0, 20)) console.log(`  ${line}`);
  if (problems.length > 20) console.log(`  ... and ${problems.length - 20} more`);
  const misblamed = totals.misblamed + misblamedEnds;
  console.log(
    `\nlost ${totals.lost}, duplicated ${totals.duplicated}, misblamed ${misblamed} (${totals.misblamed} inputs, ${misblamedEnds} workers); ` +
      `wrong ${totals.wrong}, misordered ${totals.misordered}, hosts died ${rig.died.length} (seed ${settings.seed})`,
  );
  return totals.lost + totals.duplicated + misblamed + totals.wrong + totals.misordered + rig.died.length === 0;
}

// Everything started is stopped by now; exit without waiting for a timer of the client's.
main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);

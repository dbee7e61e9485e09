/**
 * `npm run soak`: the fault-injection soak of test/soak.test.ts, larger. Each run sends
 * `--tasks` inputs (default 100,000), 3% of them faulty (throw, crash, hang, spin), through 4
 * workers (concurrency 2, taskTimeout 200, gracePeriod 100), for each of `--seeds` seeds
 * (default 10, from `--seed`, default 20261124) and each mode:
 *
 * - `unordered`: `loopPool(worker, { settle: true })`, records as tasks finish;
 * - `ordered`: `loopPool(worker, { settle: true, ordered: true })`, records in input order;
 * - `pool`: a long-lived pool, one `put` per input: its Promise settles once (as
 *   `Promise.allSettled` reports), its value comes on `results$`.
 *
 * Settle-mode records, not a failing output, so that every input is accounted for, in three
 * counts that must all be zero:
 *
 * - lost: never reported (the output or the puts stalled, or a record is missing);
 * - duplicated: reported more than once (two records, or a value and an error);
 * - misblamed: ended other than as its own fault says: a 'none' input rejected, a 'throw'
 *   one not with TaskError, a 'crash' one not with WorkerCrashError, a 'hang' or 'spin' one
 *   not with TaskTimeoutError; any error that is not a LoopPoolError counts too. One
 *   exception, counted apart as collateral and not a failure: a 'hang' input that ends with
 *   WorkerCrashError after the worker had really started it 1 + retries times. It waits
 *   200 ms, long enough for a neighbour to crash the worker under it each time, and a task
 *   whose worker crashed under it is retried only `retries` times. The other faults end at
 *   once when they start, so a crash cannot catch them mid-run.
 *
 * `ordered` also counts records out of input order (misordered). A run that makes no progress
 * for `--stall` ms (default 30,000) is cut short, and what it had not reported is lost.
 * Prints a line per seed and mode, then a summary; exits with 1 if any count is non-zero.
 * The worker counts how often each input really started, shown with each problem reported.
 *
 *   npm run soak -- --tasks 20000 --seeds 2
 */
import { join } from 'node:path';
import { from, type Subscription } from 'rxjs';
import {
  createPool,
  loopPool,
  LoopPoolError,
  TaskError,
  TaskTimeoutError,
  WorkerCrashError,
  type Settled,
} from 'looppool';
import type { SoakFault, SoakTask } from './soak.worker';
import { random } from '../test/support/random';

const worker = join(__dirname, 'soak.worker.ts');
const modes = ['unordered', 'ordered', 'pool'] as const;
type Mode = (typeof modes)[number];

/** The error each fault ends as. */
const own: Record<SoakFault, (new (...args: never[]) => Error) | undefined> = {
  none: undefined,
  throw: TaskError,
  crash: WorkerCrashError,
  hang: TaskTimeoutError,
  spin: TaskTimeoutError,
};

/** The pool's shape for every mode: the brief's, and large enough a restart budget never to fail the pool. */
const poolOptions = { size: 4, concurrency: 2, taskTimeout: 200, gracePeriod: 100, maxRestarts: 1_000_000 } as const;

interface Settings {
  readonly tasks: number;
  readonly seeds: number;
  readonly seed: number;
  readonly modes: readonly Mode[];
  readonly retries: number;
  readonly stall: number;
}

/** How one input was reported: each value or error, in arrival order. */
type Report = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

interface Counts {
  lost: number;
  duplicated: number;
  misblamed: number;
  misordered: number;
  /** Not a failure: see the header. */
  collateral: number;
}

interface RunResult {
  readonly counts: Counts;
  readonly faulty: number;
  readonly seconds: number;
  readonly stalled: boolean;
  /** The first few problems, for the log. */
  readonly examples: string[];
  /** Misblamed inputs by fault and how they ended: `none → WorkerCrashError`. */
  readonly misblamedBy: Map<string, number>;
}

/** The mix of test/soak.test.ts: 1.4% throw, 0.6% crash, 0.7% hang, 0.3% spin. */
function inputsFor(seed: number, tasks: number): SoakTask[] {
  const next = random(seed);
  return Array.from({ length: tasks }, (_, id) => {
    const roll = next();
    const fault: SoakFault = roll < 0.014 ? 'throw' : roll < 0.02 ? 'crash' : roll < 0.027 ? 'hang' : roll < 0.03 ? 'spin' : 'none';
    return { id, fault };
  });
}

/** Calls `onStall` once nothing has been reported for `ms`; `progress()` to report something. */
function stallWatch(ms: number, onStall: () => void): { progress(): void; stop(): void } {
  let last = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - last < ms) return;
    clearInterval(timer);
    onStall();
  }, Math.min(1_000, ms));
  return { progress: () => void (last = Date.now()), stop: () => clearInterval(timer) };
}

/** Runs the inputs through the operator, in settle mode; resolves with each input's reports, in arrival order. */
function viaOperator(inputs: SoakTask[], ordered: boolean, runs: Int32Array, settings: Settings) {
  return new Promise<{ reports: Report[][]; order: number[]; stalled: boolean }>((resolve) => {
    const reports: Report[][] = inputs.map(() => []);
    const order: number[] = [];
    let subscription: Subscription | undefined;
    const finish = (stalled: boolean): void => {
      watch.stop();
      subscription?.unsubscribe();
      resolve({ reports, order, stalled });
    };
    const watch = stallWatch(settings.stall, () => finish(true));
    subscription = from(inputs)
      .pipe(
        loopPool<SoakTask, number>(worker, {
          ...poolOptions,
          retries: settings.retries,
          settle: true,
          ordered,
          workerData: runs,
        }),
      )
      .subscribe({
        next: (record: Settled<SoakTask, number>) => {
          watch.progress();
          order.push(record.index);
          reports[record.index]!.push(record.status === 'fulfilled' ? { ok: true, value: record.value } : { ok: false, error: record.reason });
        },
        // Settle mode never errors for a task; anything here is reported against no input.
        error: (error: unknown) => {
          console.error('  the output errored:', error);
          finish(false);
        },
        complete: () => finish(false),
      });
  });
}

/** Puts every input into a long-lived pool; each input's report is its Promise's outcome, and its value on results$. */
async function viaPuts(inputs: SoakTask[], runs: Int32Array, settings: Settings) {
  const reports: Report[][] = inputs.map(() => []);
  const pool = createPool<SoakTask, number>(worker, { ...poolOptions, retries: settings.retries, workerData: runs });
  /** Values seen on results$ per input (ids), beside the Promise's outcome. */
  const values = new Array<number>(inputs.length).fill(0);
  let stalled = false;
  let unsettled = inputs.length;
  let allSettled!: () => void;
  const settled = new Promise<void>((resolve) => (allSettled = resolve));
  const watch = stallWatch(settings.stall, () => {
    stalled = true;
    allSettled();
  });
  pool.results$.subscribe({
    next: (value) => {
      watch.progress();
      if (typeof value === 'number' && value >= 0 && value < values.length) values[value]!++;
    },
    error: () => {},
  });
  const ended = (): void => {
    watch.progress();
    if (--unsettled === 0) allSettled();
  };
  for (const input of inputs) {
    pool.put(input).then(
      () => {
        reports[input.id]!.push({ ok: true, value: input.id });
        ended();
      },
      (error: unknown) => {
        reports[input.id]!.push({ ok: false, error });
        ended();
      },
    );
  }
  await settled;
  watch.stop();
  await pool.terminate();
  // A fulfilled put must have brought its value once; a rejected one, none.
  reports.forEach((list, id) => {
    const fulfilled = list.some((report) => report.ok);
    if (fulfilled && values[id] === 0) list.length = 0; // its value never came: lost
    for (let extra = values[id]! - (fulfilled ? 1 : 0); extra > 0; extra--) list.push({ ok: true, value: id });
  });
  return { reports, order: [] as number[], stalled };
}

/** Whether `report` is how an input with `fault` should end. */
function isOwn(input: SoakTask, report: Report): boolean {
  if (report.ok) return input.fault === 'none' && report.value === input.id;
  const expected = own[input.fault];
  return expected !== undefined && report.error instanceof expected;
}

function describeReport(report: Report): string {
  if (report.ok) return `value ${String(report.value)}`;
  const error = report.error;
  return error instanceof Error ? `${error.name}: ${error.message}` : `non-error ${String(error)}`;
}

async function run(seed: number, mode: Mode, settings: Settings): Promise<RunResult> {
  const inputs = inputsFor(seed, settings.tasks);
  const runs = new Int32Array(new SharedArrayBuffer(4 * inputs.length));
  const started = performance.now();
  const { reports, order, stalled } =
    mode === 'pool' ? await viaPuts(inputs, runs, settings) : await viaOperator(inputs, mode === 'ordered', runs, settings);
  const seconds = (performance.now() - started) / 1000;
  const counts: Counts = { lost: 0, duplicated: 0, misblamed: 0, misordered: 0, collateral: 0 };
  const examples: string[] = [];
  const misblamedBy = new Map<string, number>();
  const note = (kind: string, input: SoakTask, detail: string): void => {
    if (examples.length < 8) examples.push(`${kind} #${input.id} (${input.fault}, started ${Atomics.load(runs, input.id)}×): ${detail}`);
  };
  inputs.forEach((input, id) => {
    const list = reports[id]!;
    if (list.length === 0) {
      counts.lost++;
      note('lost', input, 'never reported');
      return;
    }
    if (list.length > 1) {
      counts.duplicated++;
      note('duplicated', input, list.map(describeReport).join(' | '));
    }
    const first = list[0]!;
    const started = Atomics.load(runs, input.id);
    if (input.fault === 'hang' && !first.ok && first.error instanceof WorkerCrashError && started === 1 + settings.retries) {
      counts.collateral++;
    } else if (!isOwn(input, first) || (!first.ok && !(first.error instanceof LoopPoolError))) {
      counts.misblamed++;
      const kind = `${input.fault} → ${first.ok ? 'a value' : first.error instanceof Error ? first.error.name : 'a non-error'}`;
      misblamedBy.set(kind, (misblamedBy.get(kind) ?? 0) + 1);
      note('misblamed', input, describeReport(first));
    }
  });
  for (let i = 1; i < order.length; i++) if (mode === 'ordered' && order[i]! < order[i - 1]!) counts.misordered++;
  const faulty = inputs.filter((input) => input.fault !== 'none').length;
  return { counts, faulty, seconds, stalled, examples, misblamedBy };
}

function parse(argv: string[]): Settings {
  const settings = { tasks: 100_000, seeds: 10, seed: 20261124, modes: [...modes] as Mode[], retries: 1, stall: 30_000 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    const number = (): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`Expected ${flag} to be a non-negative integer, got ${String(value)}`);
      i++;
      return n;
    };
    if (flag === '--tasks') settings.tasks = number();
    else if (flag === '--seeds') settings.seeds = number();
    else if (flag === '--seed') settings.seed = number();
    else if (flag === '--retries') settings.retries = number();
    else if (flag === '--stall') settings.stall = number();
    else if (flag === '--modes') {
      const chosen = String(value).split(',');
      const unknown = chosen.filter((mode) => !(modes as readonly string[]).includes(mode));
      if (unknown.length > 0) throw new TypeError(`Unknown mode ${unknown.join(', ')}; expected some of: ${modes.join(', ')}`);
      settings.modes = chosen as Mode[];
      i++;
    } else throw new TypeError(`Unknown flag ${flag}; expected --tasks, --seeds, --seed, --modes, --retries, --stall`);
  }
  return settings;
}

async function main(): Promise<void> {
  const settings = parse(process.argv.slice(2));
  console.log(
    `soak: ${settings.tasks} tasks × ${settings.seeds} seeds from ${settings.seed}, modes ${settings.modes.join(', ')}; ` +
      `size 4, concurrency 2, taskTimeout 200, gracePeriod 100, retries ${settings.retries}`,
  );
  const totals = new Map<Mode, Counts & { runs: number; stalled: number; seconds: number }>();
  const misblamedBy = new Map<string, number>();
  for (let s = 0; s < settings.seeds; s++) {
    const seed = settings.seed + s;
    for (const mode of settings.modes) {
      const result = await run(seed, mode, settings);
      const { lost, duplicated, misblamed, misordered, collateral } = result.counts;
      console.log(
        `seed ${seed} ${mode.padEnd(9)} ${result.faulty} faulty: lost ${lost}, duplicated ${duplicated}, misblamed ${misblamed}` +
          `${mode === 'ordered' ? `, misordered ${misordered}` : ''} (collateral ${collateral})` +
          `${result.stalled ? ' STALLED' : ''} in ${result.seconds.toFixed(1)} s`,
      );
      if (result.misblamedBy.size > 0) console.log(`    misblamed: ${breakdown(result.misblamedBy)}`);
      for (const example of result.examples) console.log(`    ${example}`);
      for (const [kind, n] of result.misblamedBy) misblamedBy.set(kind, (misblamedBy.get(kind) ?? 0) + n);
      const total = totals.get(mode) ?? { lost: 0, duplicated: 0, misblamed: 0, misordered: 0, collateral: 0, runs: 0, stalled: 0, seconds: 0 };
      total.lost += lost;
      total.duplicated += duplicated;
      total.misblamed += misblamed;
      total.misordered += misordered;
      total.collateral += collateral;
      total.runs++;
      total.stalled += result.stalled ? 1 : 0;
      total.seconds += result.seconds;
      totals.set(mode, total);
    }
  }
  console.log('\nmode       runs  stalled  lost  duplicated  misblamed  misordered  collateral  seconds');
  let failed = false;
  for (const [mode, t] of totals) {
    failed ||= t.lost + t.duplicated + t.misblamed + t.misordered > 0;
    console.log(
      `${mode.padEnd(9)}  ${String(t.runs).padStart(4)}  ${String(t.stalled).padStart(7)}  ${String(t.lost).padStart(4)}  ` +
        `${String(t.duplicated).padStart(10)}  ${String(t.misblamed).padStart(9)}  ${String(t.misordered).padStart(10)}  ` +
        `${String(t.collateral).padStart(10)}  ${t.seconds.toFixed(0).padStart(7)}`,
    );
  }
  if (misblamedBy.size > 0) console.log(`\nmisblamed, all modes: ${breakdown(misblamedBy)}`);
  process.exitCode = failed ? 1 : 0;
}

/** `none → WorkerCrashError 12, hang → WorkerCrashError 3`, most frequent first. */
function breakdown(counts: Map<string, number>): string {
  return [...counts].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `${kind} ${n}`).join(', ');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 2;
});

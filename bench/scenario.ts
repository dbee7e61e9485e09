/**
 * One benchmark scenario, run in a process of its own by bench/index.ts:
 * `tsx bench/scenario.ts <id> [rounds]`. Runs every contender in turn (start, one warm-up run,
 * `rounds` measured runs, stop) and prints one JSON line of {@link ScenarioResult}. The two
 * contenders of a pair ({@link pairs}) run together, at the place of the first: both start,
 * both warm up, then round r runs one right after the other, the first of the round
 * alternating (r even: the pair's order; odd: the reverse), and both stop.
 */
import { contenders, defaultsContenders, pairs, type Contender, type Task } from './contenders';

/** What one contender achieved in one scenario: medians over the rounds. */
export interface Measurement {
  readonly name: string;
  /** Tasks per second, or milliseconds for the start-up scenario. */
  readonly value: number;
  /** The main thread's event-loop delay p99 (ms) during the runs, where the scenario watches it. */
  readonly loopDelayP99?: number;
  /** The most memory (MiB) the main thread's ArrayBuffers held during the runs, where the scenario watches it. */
  readonly peakArrayBuffers?: number;
  /** Every round's figure, in round order (`value` is their median). */
  readonly rounds: readonly number[];
  /** The contender it ran in paired rounds with: round r of each ran one right after the other. */
  readonly pairedWith?: string;
}

export interface ScenarioResult {
  readonly id: string;
  readonly measurements: Measurement[];
}

/** A scenario: its tasks, how many, and what it measures. */
export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** `'tasks/s'`: higher is better; `'ms'`: the time to the first result, lower is better. */
  readonly unit: 'tasks/s' | 'ms';
  readonly total: number;
  /** Contenders too slow to run `total` in reasonable time run this many instead (throughput is per second). */
  readonly capped?: Readonly<Record<string, number>>;
  readonly make: (i: number) => Task;
  readonly transfer?: boolean;
  readonly watchLoopDelay?: boolean;
  readonly watchMemory?: boolean;
  /** The only contenders that run it; by default every contender not kept to other scenarios. */
  readonly contenders?: readonly string[];
}

/** A fresh, uninitialised 1 MiB ArrayBuffer (zero-filling would cost as much as the copy measured). */
const megabyte = (): ArrayBuffer => Buffer.allocUnsafeSlow(1 << 20).buffer as ArrayBuffer;

/** Scenario (d): 1,000 tasks of a fresh 1 MiB buffer each, copied or transferred. */
const bufferScenario = (transfer: boolean): Scenario => ({
  id: transfer ? 'd-transfer' : 'd-copy',
  title: `(d) 1 MiB ArrayBuffer per task, ${transfer ? 'transferred' : 'copied'}`,
  unit: 'tasks/s',
  total: 1_000,
  make: () => ({ s: 'buffer', x: megabyte() }),
  transfer,
  watchMemory: true,
});

export const scenarios: readonly Scenario[] = [
  {
    id: 'a',
    title: '(a) 200,000 tiny tasks (`x => x + 1`), at most 64 in flight',
    unit: 'tasks/s',
    total: 200_000,
    capped: { 'threads.js Pool': 5_000 },
    make: (x) => ({ s: 'tiny', x }),
  },
  {
    id: 'b',
    title: '(b) 400 CPU-bound tasks of about 5 ms',
    unit: 'tasks/s',
    total: 400,
    make: (x) => ({ s: 'cpu', x }),
    watchLoopDelay: true,
  },
  {
    id: 'c',
    title: '(c) 2,000 tasks that await 2 ms, then burn 2 ms of CPU',
    unit: 'tasks/s',
    total: 2_000,
    make: (x) => ({ s: 'io', x }),
    watchLoopDelay: true,
  },
  bufferScenario(false),
  bufferScenario(true),
  {
    id: 'e',
    title: '(e) time from creating the pool to the first result',
    unit: 'ms',
    total: 1,
    make: (x) => ({ s: 'tiny', x }),
  },
  {
    id: 'f',
    title: '(f) uneven CPU-bound tasks: 800, one in eight burns 16 ms, the others 1 ms (dispatch)',
    unit: 'tasks/s',
    total: 800,
    make: (x) => ({ s: 'uneven', x }),
  },
  {
    id: 'g',
    title: '(g) 200,000 tasks of about 30 µs, every option at its default (2 workers)',
    unit: 'tasks/s',
    total: 200_000,
    make: (x) => ({ s: 'small', x }),
    // piscina's defaults take a promise and a message per task: a tenth keeps the run short.
    capped: { 'piscina defaults': 20_000 },
    contenders: Object.values(defaultsContenders),
  },
];

/**
 * Starts watching the main thread's event loop: a 1 ms timer notes how late each of its turns
 * comes. The function returned stops it and gives the p99 lateness (ms), counting the turn
 * still pending, so that a loop blocked for the whole run reports the whole block.
 */
function watchLoopDelay(): () => number {
  const delays: number[] = [];
  let due = performance.now() + 1;
  const tick = (): void => {
    const now = performance.now();
    delays.push(Math.max(0, now - due));
    due = now + 1;
    timer = setTimeout(tick, 1);
  };
  let timer = setTimeout(tick, 1);
  return () => {
    clearTimeout(timer);
    delays.push(Math.max(0, performance.now() - due));
    return [...delays].sort((a, b) => a - b)[Math.floor(delays.length * 0.99)]!;
  };
}

/** Starts sampling the main thread's ArrayBuffer memory every 5 ms; the function returned stops it and gives the peak (MiB). */
function watchMemory(): () => number {
  let peak = 0;
  const sample = (): void => void (peak = Math.max(peak, process.memoryUsage().arrayBuffers));
  const timer = setInterval(sample, 5);
  return () => {
    clearInterval(timer);
    sample();
    return peak / 2 ** 20;
  };
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** Runs `total` tasks and returns the throughput, checking that every task gave one result. */
async function throughput(contender: Contender, scenario: Scenario, total: number): Promise<number> {
  const started = performance.now();
  const done = await contender.runAll(total, scenario.make, scenario.transfer ?? false);
  const seconds = (performance.now() - started) / 1000;
  if (done !== total) throw new Error(`${contender.name}: expected ${total} results, got ${done}`);
  return total / seconds;
}

/** The contenders of `group` in the order round `round` runs them: each round starts one further along. */
const inTurn = <C>(group: readonly C[], round: number): C[] => group.map((_, at) => group[(round + at) % group.length]!);

/** Measures `group` (one contender, or the two of a pair) over `rounds` rounds; see the file's head. */
async function measure(group: readonly Contender[], scenario: Scenario, rounds: number): Promise<Measurement[]> {
  const figures = new Map(group.map((c) => [c, { rates: [] as number[], delays: [] as number[], peaks: [] as number[] }]));
  const paired = (c: Contender): { pairedWith?: string } => (group.length === 2 ? { pairedWith: group.find((other) => other !== c)!.name } : {});
  if (scenario.unit === 'ms') {
    for (let round = 0; round < rounds; round++) {
      for (const contender of inTurn(group, round)) {
        const started = performance.now();
        await contender.start();
        await contender.runAll(1, scenario.make, false);
        figures.get(contender)!.rates.push(performance.now() - started);
        await contender.stop();
      }
    }
    return group.map((c) => ({ name: c.name, value: median(figures.get(c)!.rates), rounds: figures.get(c)!.rates, ...paired(c) }));
  }
  const total = (c: Contender): number => scenario.capped?.[c.name] ?? scenario.total;
  for (const contender of group) await contender.start();
  // Warm up with one full run (a tenth for the long tiny-task runs): the JIT and the GC of
  // every thread settle in its first few thousand tasks.
  for (const contender of group) await throughput(contender, scenario, scenario.id === 'a' || scenario.id === 'g' ? Math.ceil(total(contender) / 10) : total(contender));
  for (let round = 0; round < rounds; round++) {
    for (const contender of inTurn(group, round)) {
      const { rates, delays, peaks } = figures.get(contender)!;
      const stopWatchingLoop = scenario.watchLoopDelay ? watchLoopDelay() : undefined;
      const stopWatchingMemory = scenario.watchMemory ? watchMemory() : undefined;
      rates.push(await throughput(contender, scenario, total(contender)));
      if (stopWatchingLoop) delays.push(stopWatchingLoop());
      if (stopWatchingMemory) peaks.push(stopWatchingMemory());
    }
  }
  for (const contender of group) await contender.stop();
  return group.map((contender) => {
    const { rates, delays, peaks } = figures.get(contender)!;
    return {
      name: contender.name,
      value: median(rates),
      ...(scenario.watchLoopDelay ? { loopDelayP99: median(delays) } : {}),
      ...(scenario.watchMemory ? { peakArrayBuffers: median(peaks) } : {}),
      rounds: rates,
      ...paired(contender),
    };
  });
}

/** The contenders that run, in groups: a pair whose two both run is one group, at the place of its first; every other contender is a group of its own. */
function groups(running: readonly Contender[]): Contender[][] {
  const grouped: Contender[][] = [];
  const placed = new Set<Contender>();
  for (const contender of running) {
    if (placed.has(contender)) continue;
    const pair = pairs.find((names) => names.includes(contender.name));
    const partner = pair && running.find((c) => c !== contender && pair.includes(c.name));
    const group = partner ? pair.map((name) => running.find((c) => c.name === name)!) : [contender];
    group.forEach((c) => placed.add(c));
    grouped.push(group);
  }
  return grouped;
}

async function main(id: string, rounds: number): Promise<void> {
  const scenario = scenarios.find((s) => s.id === id);
  if (!scenario) throw new RangeError(`Unknown scenario ${id}; expected one of ${scenarios.map((s) => s.id).join(', ')}`);
  const measurements: Measurement[] = [];
  // BENCH_ONLY=piscina,tinypool runs only the contenders named (to look at one in isolation).
  const only = process.env.BENCH_ONLY?.split(',');
  const runs = (c: Contender): boolean => (scenario.contenders ? scenario.contenders.includes(c.name) : !c.scenarios || c.scenarios.includes(id));
  for (const group of groups(contenders.filter((c) => (!only || only.includes(c.name)) && runs(c)))) {
    process.stderr.write(`${id}: ${group.map((c) => c.name).join(' / ')}\n`);
    const measured = await measure(group, scenario, rounds);
    // In the order of the contenders' list, as before pairs.
    for (const contender of contenders) measurements.push(...measured.filter((m) => m.name === contender.name));
  }
  const result: ScenarioResult = { id, measurements };
  console.log(JSON.stringify(result));
}

if (require.main === module) {
  main(process.argv[2] ?? '', Number(process.argv[3] ?? 5)).catch((error: unknown) => {
    console.error(error, error instanceof Object ? Object.getPrototypeOf(error)?.constructor?.name : typeof error);
    process.exit(1);
  });
}

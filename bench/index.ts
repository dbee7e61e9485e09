/**
 * `npm run bench`: every contender side by side, one process per scenario, median of 5 rounds,
 * 2 workers each. Prints one markdown table per scenario (throughput, ratio to the best peer
 * and to the main thread, in (a) the ratios to the limits, a featureless hand-written pool, the
 * main thread's loop delay p99 where watched) and the goals of
 * docs/performance.md, each with its measured figure.
 *
 * `npm run bench -- a c` runs only the scenarios named; `BENCH_ROUNDS=3` changes the rounds.
 * Contenders that a goal compares ({@link pairs}: the operator on a pool and `pool.process`)
 * run in paired rounds (bench/scenario.ts); below the table come each round's ratio of a pair
 * and their median, and the goal is that median.
 * Then comes the streaming scenario (`bench/streaming.ts`, alone: `npm run bench -- streaming`):
 * one task's 1,000,000 values, paced by credits against unpaced. Last comes the elastic
 * scenario (`bench/elastic.ts`, alone: `npm run bench -- elastic`).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { defaultsContenders, pairs, processContenders } from './contenders';
import { calibrate } from './peers/tasks.cjs';
import { scenarios, type Measurement, type Scenario, type ScenarioResult } from './scenario';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const looppool = ['looppool (operator)', 'looppool (operator on a pool)', 'looppool (pool.process)'];
/** The same pool watched: traced to a no-op exporter, and with the `inspect` server; compared with the pool unwatched. */
const watched = ['looppool (pool.process) traced', 'looppool (pool.process) inspect'];
const mainThread = 'main thread';
/** The featureless hand-written pool of scenario (a): what 2 threads and `postMessage` allow (bench/contenders.ts). */
const limit = 'limit';
/** The same pool kept to the 32 tasks in flight per worker that the contenders may have. */
const boundedLimit = 'limit at 32 in flight';
/** The thread pools looppool's threads are compared with; the process pools are compared with each other ({@link processGoals}). */
const isPeer = (name: string): boolean =>
  name !== mainThread &&
  name !== limit &&
  name !== boundedLimit &&
  !looppool.includes(name) &&
  !processContenders.includes(name) &&
  name !== defaultsContenders.mainThread &&
  name !== defaultsContenders.process &&
  name !== defaultsContenders.operator &&
  !watched.includes(name);

/** What watching costs: each watched pool's figure against the same pool unwatched, in one run. */
function watchingCost(scenario: Scenario, measurements: readonly Measurement[]): string[] {
  const plain = measurements.find((m) => m.name === 'looppool (pool.process)');
  const rows = watched.flatMap((name) => {
    const m = measurements.find((each) => each.name === name);
    return m && plain ? [`- ${name}: ${better(scenario, m.value, plain.value).toFixed(3)}× the unwatched pool (${figure(m.value)} against ${figure(plain.value)} ${scenario.unit})`] : [];
  });
  return rows.length ? ['', `What watching costs in ${scenario.id}:`, ...rows, ''] : [];
}

/** The ratio of `a` to `b` in each round they ran paired (bench/scenario.ts), in round order; undefined unless they did. */
function pairedRatios(scenario: Scenario, measurements: readonly Measurement[], a: string, b: string): number[] | undefined {
  const ma = measurements.find((m) => m.name === a);
  const mb = measurements.find((m) => m.name === b);
  if (!ma || !mb || ma.pairedWith !== b || ma.rounds.length !== mb.rounds.length) return undefined;
  return ma.rounds.map((value, round) => better(scenario, value, mb.rounds[round]!));
}

const medianOf = (values: readonly number[]): number => [...values].sort((x, y) => x - y)[values.length >> 1]!;

/** Each pair that ran in paired rounds: the ratio of each round and their median. */
function pairing(scenario: Scenario, measurements: readonly Measurement[]): string[] {
  const rows = pairs.flatMap(([a, b]) => {
    const ratios = pairedRatios(scenario, measurements, a, b);
    return ratios ? [`- ${a} / ${b}: ${ratios.map((r) => r.toFixed(3)).join(', ')} (median ${medianOf(ratios).toFixed(3)}×)`] : [];
  });
  return rows.length ? [`Paired rounds in ${scenario.id} (one right after the other, the first alternating), each round's ratio:`, ...rows, ''] : [];
}

/** Runs one scenario in a fresh process, so that no scenario inherits another's heap or JIT state. */
function runScenario(scenario: Scenario, burnPerMs: number): ScenarioResult {
  const child = spawnSync(process.execPath, [...process.execArgv, join(__dirname, 'scenario.ts'), scenario.id, String(rounds)], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_BURN_PER_MS: String(burnPerMs) },
    maxBuffer: 1 << 24,
  });
  if (child.status !== 0) throw new Error(`scenario ${scenario.id} failed (${child.status}):\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as ScenarioResult;
}

/** How many times better `a` is than `b`: more tasks/s, or fewer ms. */
const better = (scenario: Scenario, a: number, b: number): number => (scenario.unit === 'ms' ? b / a : a / b);

function bestPeer(scenario: Scenario, measurements: readonly Measurement[]): Measurement {
  const peers = measurements.filter((m) => isPeer(m.name));
  return peers.reduce((best, m) => (better(scenario, m.value, best.value) > 1 ? m : best));
}

const figure = (value: number): string =>
  value >= 100 ? Math.round(value).toLocaleString('en') : value.toFixed(value >= 10 ? 1 : 2);

function table(scenario: Scenario, measurements: readonly Measurement[]): string[] {
  const best = bestPeer(scenario, measurements);
  const main = measurements.find((m) => m.name === mainThread || m.name === defaultsContenders.mainThread)!;
  const vsRow = (name: string) => {
    const run = measurements.find((m) => m.name === name);
    return run ? [{ title: `vs ${name}`, cell: (m: Measurement) => `${better(scenario, m.value, run.value).toFixed(3)}×` }] : [];
  };
  const extra = [
    ...vsRow(limit),
    ...vsRow(boundedLimit),
    ...(scenario.watchLoopDelay ? [{ title: 'main-thread loop delay p99', cell: (m: Measurement) => `${m.loopDelayP99!.toFixed(1)} ms` }] : []),
    ...(scenario.watchMemory ? [{ title: 'peak main-thread ArrayBuffers', cell: (m: Measurement) => `${figure(m.peakArrayBuffers!)} MiB` }] : []),
  ];
  const lines = [
    `### ${scenario.title}`,
    '',
    `| contender | ${scenario.unit === 'ms' ? 'first result (ms)' : 'tasks/s'} | vs best peer (${best.name}) | vs main thread |${extra.map((e) => ` ${e.title} |`).join('')}`,
    `| --- | ---: | ---: | ---: |${' ---: |'.repeat(extra.length)}`,
  ];
  for (const m of measurements) {
    const cells = [figure(m.value), `${better(scenario, m.value, best.value).toFixed(2)}×`, `${better(scenario, m.value, main.value).toFixed(2)}×`];
    lines.push(`| ${[m.name, ...cells, ...extra.map((e) => e.cell(m))].join(' | ')} |`);
  }
  return [...lines, ''];
}

/** The goals of issue 8, each with the figure measured in this run. */
function goals(results: ReadonlyMap<string, readonly Measurement[]>): string[] {
  const lines = ['### Goals', '', `| goal | ${looppool.join(' | ')} |`, `| --- |${' ---: |'.repeat(looppool.length)}`];
  const measured = (id: string, name: string): Measurement | undefined => results.get(id)?.find((m) => m.name === name);
  const value = (id: string, name: string): number | undefined => measured(id, name)?.value;
  /** `a / b`, or undefined when either scenario did not run. */
  const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined ? undefined : a / b;
  const row = (goal: string, measure: (name: string) => number | undefined, met: (x: number) => boolean, unit: string): void => {
    const cells = looppool.map((name) => {
      const x = measure(name);
      // Three decimals, so that a figure just under its goal does not print as the goal itself.
      return x === undefined ? 'not run' : `${x.toFixed(3)}${unit} ${met(x) ? 'met' : 'not met'}`;
    });
    lines.push(`| ${goal} | ${cells.join(' | ')} |`);
  };
  const vsBestPeer = (id: string) => (name: string) => {
    const measurements = results.get(id);
    const scenario = scenarios.find((s) => s.id === id)!;
    const ours = value(id, name);
    return measurements && ours !== undefined ? better(scenario, ours, bestPeer(scenario, measurements).value) : undefined;
  };
  row('(a) tiny tasks ≥ 2× the best peer', vsBestPeer('a'), (x) => x >= 2, '×');
  row('(a) tiny tasks ≥ 0.25 of the limit', (name) => ratio(value('a', name), value('a', limit)), (x) => x >= 0.25, '×');
  row('(b) CPU-bound speed-up over the main thread ≥ 1.9', (name) => ratio(value('b', name), value('b', mainThread)), (x) => x >= 1.9, '×');
  row('(b) main-thread loop delay p99 < 20 ms', (name) => measured('b', name)?.loopDelayP99, (x) => x < 20, ' ms');
  row('(c) IO + CPU at least as fast as every peer', vsBestPeer('c'), (x) => x >= 1, '×');
  row('(d) transfer ≥ 5× faster than copy at 1 MiB', (name) => ratio(value('d-transfer', name), value('d-copy', name)), (x) => x >= 5, '×');
  return [...lines, ''];
}

/** The goal of issue 15: looppool's worker processes at least as good as tinypool's `runtime: 'child_process'` on every row. */
function processGoals(results: ReadonlyMap<string, readonly Measurement[]>): string[] {
  const [ours, theirs] = processContenders as [string, string];
  const lines = ['### Goals of worker processes', '', `| scenario | ${ours} vs ${theirs} |`, '| --- | ---: |'];
  for (const id of ['a', 'b', 'e']) {
    const scenario = scenarios.find((s) => s.id === id)!;
    const a = results.get(id)?.find((m) => m.name === ours)?.value;
    const b = results.get(id)?.find((m) => m.name === theirs)?.value;
    const cell = a === undefined || b === undefined ? 'not run' : `${better(scenario, a, b).toFixed(3)}× ${better(scenario, a, b) >= 1 ? 'met' : 'not met'}`;
    lines.push(`| ${scenario.title} | ${cell} |`);
  }
  return [...lines, ''];
}

/**
 * The goals of issue 25, each with the figure measured in this run: the defaults against the
 * main thread and piscina's defaults (g), and the operator over a pushed synchronous source
 * against `pool.process` on the same pool (a: tiny tasks; g: 30 µs tasks).
 */
function defaultsGoals(results: ReadonlyMap<string, readonly Measurement[]>): string[] {
  const lines = ['### Goals of the defaults', '', '| goal | measured |', '| --- | ---: |'];
  const value = (id: string, name: string): number | undefined => results.get(id)?.find((m) => m.name === name)?.value;
  const row = (goal: string, a: number | undefined, b: number | undefined, least: number, paired?: readonly number[]): void => {
    // Paired contenders: the median of their rounds' own ratios, and each round's.
    const x = paired ? medianOf(paired) : a !== undefined && b !== undefined ? a / b : undefined;
    const rounds = paired ? ` (median of ${paired.length} paired rounds: ${paired.map((r) => r.toFixed(3)).join(', ')})` : '';
    const cell = x === undefined ? 'not run' : `${x.toFixed(3)}× ${x >= least ? 'met' : 'not met'}${rounds}`;
    lines.push(`| ${goal} | ${cell} |`);
  };
  const paired = (id: string, a: string, b: string): number[] | undefined => {
    const measurements = results.get(id);
    return measurements && pairedRatios(scenarios.find((s) => s.id === id)!, measurements, a, b);
  };
  const { mainThread: loop, process: pulledDefaults, operator, piscina } = defaultsContenders;
  row('(g) defaults ≥ 1.5× the main thread', value('g', pulledDefaults), value('g', loop), 1.5);
  row('(g) defaults ≥ piscina with its defaults', value('g', pulledDefaults), value('g', piscina), 1);
  const [pushed, pulled] = ['looppool (operator on a pool)', 'looppool (pool.process)'];
  row('(a) operator over a pushed source ≥ 0.8 of pool.process', value('a', pushed), value('a', pulled), 0.8, paired('a', pushed, pulled));
  row('(g) operator over `from(generator)` ≥ 0.8 of pool.process', value('g', operator), value('g', pulledDefaults), 0.8, paired('g', operator, pulledDefaults));
  return [...lines, ''];
}

function main(): void {
  const wanted = process.argv.slice(2);
  const chosen = wanted.length ? scenarios.filter((s) => wanted.includes(s.id) || wanted.includes(s.id[0]!)) : scenarios;
  const elastic = wanted.length === 0 || wanted.includes('elastic');
  const burnPerMs = calibrate();
  const started = performance.now();
  console.log(
    `Node ${process.versions.node}, ${availableParallelism()} cores, ${new Date().toISOString().slice(0, 10)}; ` +
      `2 workers per pool, median of ${rounds} rounds; burn loop ${burnPerMs.toLocaleString('en')} iterations/ms.\n`,
  );
  const results = new Map<string, readonly Measurement[]>();
  for (const scenario of chosen) {
    const { measurements } = runScenario(scenario, burnPerMs);
    results.set(scenario.id, measurements);
    console.log(table(scenario, measurements).join('\n'));
    console.log(watchingCost(scenario, measurements).join('\n'));
    console.log(pairing(scenario, measurements).join('\n'));
  }
  if (chosen.length > 0) {
    console.log(goals(results).join('\n'));
    console.log(processGoals(results).join('\n'));
    console.log(defaultsGoals(results).join('\n'));
  }
  if (!wanted.length || wanted.includes('streaming')) {
    const streaming = spawnSync(process.execPath, [...process.execArgv, join(__dirname, 'streaming.ts')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (streaming.status !== 0) throw new Error(`the streaming scenario failed (${streaming.status})`);
    console.log(streaming.stdout);
  }
  if (elastic) {
    const child = spawnSync(process.execPath, [...process.execArgv, join(__dirname, 'elastic.ts')], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_BURN_PER_MS: String(burnPerMs), BENCH_ROUNDS: process.env.BENCH_ROUNDS ?? '3' },
    });
    if (child.status !== 0) throw new Error(`the elastic scenario failed (${child.status})`);
  }
  console.log(`Ran in ${((performance.now() - started) / 60_000).toFixed(1)} min.`);
}

main();

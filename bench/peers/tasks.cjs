// The benchmark's tasks, shared by every contender's worker and by the main thread. CommonJS
// JavaScript, so that every pool loads them the same way, with no TypeScript loader.
'use strict';

/** Loop iterations per millisecond of CPU, measured once by bench/index.ts and passed in the environment. */
const perMs = Number(process.env.BENCH_BURN_PER_MS || 100000);

/** Runs `n` iterations of arithmetic the optimizer cannot remove. */
function spin(n) {
  let x = 1;
  for (let i = 0; i < n; i++) x = (Math.imul(x, 31) + i) | 0;
  return x;
}

/** Burns about `ms` milliseconds of CPU. */
const burn = (ms) => spin(Math.round(ms * perMs));

/** Measures the iterations of `spin` per millisecond on this machine: the best of five 100 ms samples. */
function calibrate() {
  const n = 1e7;
  let best = 0;
  spin(n); // let the optimizer compile it first
  for (let sample = 0; sample < 5; sample++) {
    const started = performance.now();
    spin(n);
    best = Math.max(best, n / (performance.now() - started));
  }
  return Math.round(best);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const tasks = {
  tiny: (x) => x + 1,
  cpu: (x) => burn(5) + x,
  io: async (x) => {
    await sleep(2);
    return burn(2) + x;
  },
  buffer: (x) => x.byteLength,
  uneven: (x) => burn(x % 8 === 0 ? 16 : 1) + x,
  small: (x) => burn(0.03) + x,
  burst: (x) => burn(2) + x,
};

/** Runs one benchmark task: `{ s: scenario, x: input }`. */
function run(task) {
  return tasks[task.s](task.x);
}

module.exports = { run, burn, calibrate };

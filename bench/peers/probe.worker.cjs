'use strict';
// The worker of bench/probe-a.ts: the benchmark's tasks, and `{ s: 'probe' }`, which answers
// what this worker's port did since the last probe (posts, triples a post, posts slower than
// the batcher's 0.2 ms target, its least batch limit, messages read) and starts counting anew.
// PROBE_FIXED_BATCH=1 keeps its batches at the batcher's most (no adapting to post times).
const { join } = require('node:path');
const dist = join(__dirname, '..', '..', 'dist');
const { Batcher } = require(join(dist, 'transport', 'batcher.js'));
const { WorkerRuntime } = require(join(dist, 'worker', 'runtime.js'));
const { defineWorker } = require(join(dist, 'worker', 'index.js'));
const { run } = require('./tasks.cjs');

const zero = () => ({ posts: 0, triples: 0, slow: 0, leastLimit: 1024, reads: 0, readTriples: 0 });
let counts = zero();

const adapt = Batcher.prototype.adapt;
Batcher.prototype.adapt = function (triples, elapsed) {
  counts.posts++;
  counts.triples += triples;
  if (elapsed > 0.2) counts.slow++;
  if (process.env.PROBE_FIXED_BATCH !== '1') adapt.call(this, triples, elapsed);
  counts.leastLimit = Math.min(counts.leastLimit, this.limit);
};

const receive = WorkerRuntime.prototype.receive;
WorkerRuntime.prototype.receive = function (batch) {
  counts.reads++;
  counts.readTriples += batch.length / 3;
  return receive.call(this, batch);
};

defineWorker((task) => {
  if (typeof task === 'number') return task + 1; // PROBE_PLAIN=1
  if (task.s !== 'probe') return run(task);
  const answer = counts;
  counts = zero();
  return answer;
});

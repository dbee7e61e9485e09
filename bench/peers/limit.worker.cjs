'use strict';
// The limit's worker: no protocol, no ids. Each message is an array of numbers; it applies
// scenario (a)'s task (`x => x + 1`, as tasks.cjs does) to each, in place, and posts the array back.
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (xs) => {
  for (let i = 0; i < xs.length; i++) xs[i] = xs[i] + 1;
  parentPort.postMessage(xs);
});

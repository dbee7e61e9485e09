'use strict';
// The worker of the limit kept to the contenders' rules: no protocol, no ids. Each message is
// an array of benchmark tasks (`{ s, x }`); it replaces each by its result and posts the array back.
const { parentPort } = require('node:worker_threads');
const { run } = require('./tasks.cjs');
parentPort.on('message', (xs) => {
  for (let i = 0; i < xs.length; i++) xs[i] = run(xs[i]);
  parentPort.postMessage(xs);
});

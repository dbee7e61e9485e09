'use strict';
// poolifier awaits only the results of `async` functions, so asynchronous tasks get a function of their own.
const { ThreadWorker } = require('poolifier');
const { run } = require('./tasks.cjs');
module.exports = new ThreadWorker({ sync: run, async: async (task) => run(task) });

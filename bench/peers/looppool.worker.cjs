'use strict';
const { defineWorker } = require('looppool/worker');
const { run } = require('./tasks.cjs');
defineWorker(run);

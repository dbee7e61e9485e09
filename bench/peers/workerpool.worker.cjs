'use strict';
const workerpool = require('workerpool');
workerpool.worker({ run: require('./tasks.cjs').run });

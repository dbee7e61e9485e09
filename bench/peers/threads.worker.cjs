'use strict';
const { expose } = require('threads/worker');
expose({ run: require('./tasks.cjs').run });

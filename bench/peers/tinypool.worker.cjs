'use strict';
module.exports = require('./tasks.cjs').run;

/**
 * Preloaded (`NODE_OPTIONS=--require`) by the worker processes of test/signals.test.ts: every
 * forked process but the first to boot waits 2 s before any code of looppool runs. That is the
 * window in which a Ctrl-C to the process group finds a worker process that has no SIGINT
 * handler yet, as a slow machine's second worker may be while the first already runs tasks.
 * `LOOPPOOL_TEST_SLOW_BOOT` names the folder of the marker file.
 */
const { closeSync, openSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.LOOPPOOL_TEST_SLOW_BOOT;
if (dir && typeof process.send === 'function') {
  try {
    closeSync(openSync(join(dir, 'first'), 'wx'));
  } catch {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2_000);
  }
}

// Run by test/processes.test.ts in a process of its own: starts a pool of two worker
// processes, prints their pids as JSON once they are ready, then waits to be killed.
const { createPool } = require('looppool');
const { join } = require('node:path');

const pool = createPool(join(__dirname, '..', 'workers', 'native.ts'), { size: 2, workerType: 'process' });
Promise.all([pool.run({ kind: 'whoami' }, { worker: 0 }), pool.run({ kind: 'whoami' }, { worker: 1 })]).then((results) => {
  console.log(JSON.stringify(results.map((result) => result.pid)));
});
setInterval(() => {}, 1_000);

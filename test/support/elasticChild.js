// Run by test/elastic.test.ts in a process of its own: an elastic pool with min: 0 runs one
// task and is never stopped. Once its worker has been idle for idleTimeout the pool holds
// nothing, so this process must exit by itself.
const { createPool } = require('looppool');
const { join } = require('node:path');

const pool = createPool(join(__dirname, '..', 'workers', 'elastic.ts'), {
  size: { min: 0, max: 2 },
  idleTimeout: 100,
  workerType: process.argv[2],
});
pool.run({ kind: 'who' }).then((result) => console.log(JSON.stringify({ ran: result.worker, size: pool.size })));

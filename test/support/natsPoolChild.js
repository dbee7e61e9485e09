// A pool in a process of its own, for the test that SIGKILLs it: serves worker 0 of
// pool argv[3] through the server at argv[2], says "ready", then waits to be killed.
const { createPool } = require('../../dist/index.js');
const { nats } = require('../../dist/nats/index.js');

const pool = createPool(process.argv[4], { size: 1, transport: nats({ servers: process.argv[2], pool: process.argv[3] }) });
pool.ready.then(() => process.stdout.write('ready\n'));
setInterval(() => {}, 1_000);

// Runs a pipeline whose worker cannot load, in a process of its own, and prints what it saw
// as JSON: the error, how long it took, and which timers and threads were left once the
// threads had ended. Jest's own timers make that last check impossible inside Jest.
const { from, lastValueFrom } = require('rxjs');
const { loopPool } = require('looppool');

const started = Date.now();
const leftovers = () =>
  process.getActiveResourcesInfo().filter((r) => ['Timeout', 'Immediate', 'MessagePort', 'Worker'].includes(r));

lastValueFrom(from([1, 2, 3]).pipe(loopPool(process.argv[2], 2))).then(
  () => console.log(JSON.stringify({ error: null })),
  async (error) => {
    const elapsed = Date.now() - started;
    const deadline = Date.now() + 3000;
    while (leftovers().some((r) => r === 'MessagePort' || r === 'Worker') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    console.log(JSON.stringify({ name: error.name, message: error.message, elapsed, leftovers: leftovers() }));
  },
);

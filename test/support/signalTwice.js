/**
 * Run by test/signals.test.ts: wires `stopOnSignals` of the built package with handlers that
 * say what they were called for. The test sends a SIGINT, then another after the window of
 * the same Ctrl-C; the second must terminate and raise the signal again. Stays alive 10 s.
 */
const { stopOnSignals } = require('../../dist/signals');

const keepAlive = setTimeout(() => {}, 10_000);
stopOnSignals(
  () => console.log('stop'),
  async () => {
    console.log('terminate');
    clearTimeout(keepAlive);
  },
);
console.log('wired');

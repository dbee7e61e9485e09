// The streaming task of `bench/streaming.ts`: `count` small values from an async generator.
// Plain JavaScript, so that a looppool-worker host runs it as it is.
const { defineWorker } = require('looppool/worker');

module.exports = defineWorker(async function* (count) {
  for (let i = 0; i < count; i++) yield i;
});

// The worker of `npm run bench:cluster`, plain JavaScript so that a looppool-worker host
// runs it as it is: returns `id`, after `spin` ms of CPU when given; with `stamp`, returns
// `[id, Date.now()]`, when the host's thread produced the result (the fault rows time the
// run's recovery by it: the hosts run on the producer's machine, so the clocks are one).
const { defineWorker } = require('looppool/worker');

module.exports = defineWorker((task) => {
  if (task.spin) {
    const end = performance.now() + task.spin;
    while (performance.now() < end);
  }
  return task.stamp ? [task.id, Date.now()] : task.id;
});

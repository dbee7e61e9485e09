// The worker of `npm run bench:cluster`, plain JavaScript so that a looppool-worker host
// runs it as it is: returns `id`, after `spin` ms of CPU when given.
const { defineWorker } = require('looppool/worker');

module.exports = defineWorker((task) => {
  if (task.spin) {
    const end = performance.now() + task.spin;
    while (performance.now() < end);
  }
  return task.id;
});

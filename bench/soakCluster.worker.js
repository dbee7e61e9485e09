// The worker of `npm run soak:cluster`, plain JavaScript so that a looppool-worker host runs it
// as it is: a healthy task that returns its `id`, at once or after `ms` milliseconds of waiting.
const { defineWorker } = require('looppool/worker');

module.exports = defineWorker((task) => (task.ms > 0 ? new Promise((resolve) => setTimeout(resolve, task.ms, task.id)) : task.id));

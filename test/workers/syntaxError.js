const { defineWorker } = require('looppool/worker');
defineWorker((task) => task +);

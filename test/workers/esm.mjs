import { defineWorker } from 'looppool/worker';

await Promise.resolve(); // top-level await: only an ES module can do this

export default defineWorker((task) => `esm ${task}`);

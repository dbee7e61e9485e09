import { defineWorker } from 'looppool/worker';

// A timer the module starts throws while the module still loads (top-level await).
setTimeout(() => {
  throw new Error('a timer of the module threw');
});
await new Promise((resolve) => setTimeout(resolve, 200));

export default defineWorker((task) => task);

import { defineWorker } from 'looppool/worker';

export default defineWorker({
  async init() {
    throw new Error('no database');
  },
  process: (task: unknown) => task,
});

import { defineWorker } from 'looppool/worker';

/** The README's worker: its module type types the main side. */
export default defineWorker((n: number) => n * n);

import { defineWorker } from 'looppool/worker';

/** The tiny task of the metrics-cost benchmark. */
export default defineWorker((x: number) => x + 1);

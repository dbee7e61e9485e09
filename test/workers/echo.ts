import { defineWorker } from 'looppool/worker';

/** Returns its task unchanged. */
export default defineWorker(<T>(task: T): T => task);

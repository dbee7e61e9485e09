import { defineWorker } from 'looppool/worker';
import sleep from './sleep';

/** A worker module that imports another worker module (sleep.ts) for its code: two defineWorker() calls. */
export default defineWorker((ms: number) => sleep.process(ms, undefined as never));

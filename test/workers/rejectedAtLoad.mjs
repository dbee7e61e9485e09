import { defineWorker } from 'looppool/worker';

// A promise the module starts rejects, unhandled, while the module still loads (top-level await).
void Promise.reject(new Error('a promise of the module rejected'));
await new Promise((resolve) => setTimeout(resolve, 200));

export default defineWorker((task) => task);

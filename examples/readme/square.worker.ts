import { defineWorker } from 'looppool/worker';

export default defineWorker((n: number) => n * n);

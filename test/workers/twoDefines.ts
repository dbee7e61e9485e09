import { defineWorker } from 'looppool/worker';

defineWorker((task: unknown) => task);
defineWorker((task: unknown) => task);

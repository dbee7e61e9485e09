import { defineWorker } from 'looppool/worker';

/** The streaming task of `bench/streaming.ts`: `count` small values from an async generator. */
export default defineWorker(async function* (count: number) {
  for (let i = 0; i < count; i++) yield i;
});

/**
 * The demo's worker: the stateful-worker pattern. `init` opens the lookup table that the main
 * thread built once and sent once, as `workerData` (shared memory: nothing is copied or
 * rebuilt per task); each task is a batch of cities, and its result the batch's output lines,
 * as UTF-8 bytes.
 */
import { defineWorker } from 'looppool/worker';
import { openAtlas, transform, type Atlas, type AtlasData, type City } from './atlas';

let atlas: Atlas;

export default defineWorker<readonly City[], Uint8Array, AtlasData>({
  async init(ctx) {
    atlas = await openAtlas(ctx.workerData);
  },
  process: (batch) => transform(batch, atlas),
  // The bytes move to the main thread instead of being copied (each batch has a buffer of its own).
  transfer: (bytes) => [bytes.buffer as ArrayBuffer],
});

import { defineWorker } from 'looppool/worker';

/** Marks a buffer and sends it back, transferred: it moves both ways instead of being copied. */
export default defineWorker({
  process(buffer: ArrayBuffer): ArrayBuffer {
    new Uint8Array(buffer)[0] = 42;
    return buffer;
  },
  transfer: (buffer: ArrayBuffer) => [buffer],
});

import { from } from 'rxjs';
import { defineWorker } from 'looppool/worker';

/** Tasks of any size: large inputs, results, streams, emitted values and workerData. */
export type SizeTask =
  | { kind: 'length'; value: string }
  | { kind: 'make'; bytes: number; fill: string }
  | { kind: 'stream'; count: number; bytes: number }
  | { kind: 'emit'; bytes: number }
  | { kind: 'workerData' };

/** `<i>:` padded with dots to `bytes` characters. */
export const streamed = (i: number, bytes: number): string => `${i}:`.padEnd(bytes, '.');

export default defineWorker({
  process(task: SizeTask, ctx: { workerData: unknown; emit(value: unknown): void }): unknown {
    switch (task.kind) {
      case 'length':
        return task.value.length;
      case 'make':
        return task.fill.repeat(task.bytes);
      case 'stream':
        // All yielded in one turn of the worker's loop: the host gets them as one burst.
        return from(Array.from({ length: task.count }, (_, i) => streamed(i, task.bytes)));
      case 'emit':
        ctx.emit('e'.repeat(task.bytes));
        return 'emitted';
      case 'workerData':
        return typeof ctx.workerData === 'string' ? ctx.workerData.length : -1;
    }
  },
});

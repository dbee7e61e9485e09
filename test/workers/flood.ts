import { writeFileSync } from 'node:fs';
import { defineWorker } from 'looppool/worker';

/**
 * A stream of `count` values of `bytes` characters, `<id>:<i>:` padded with dots, yielded as fast
 * as the task's credits allow; once it has yielded the last one, it writes the file `done`.
 */
export interface FloodTask {
  readonly id: string;
  readonly count: number;
  readonly bytes: number;
  readonly done: string;
}

/** The value `i` of task `id`. */
export const flooded = (id: string, i: number, bytes: number): string => `${id}:${i}:`.padEnd(bytes, '.');

async function* flood({ id, count, bytes, done }: FloodTask): AsyncGenerator<string> {
  for (let i = 0; i < count; i++) yield flooded(id, i, bytes);
  writeFileSync(done, '');
}

export default defineWorker((task: FloodTask) => flood(task));

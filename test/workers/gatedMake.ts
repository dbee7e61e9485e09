import { appendFileSync, existsSync } from 'node:fs';
import { defineWorker } from 'looppool/worker';

/** A task that notes each run of it in `log`, waits until the file `go` exists, then returns `bytes` characters. */
export interface GatedTask {
  readonly id: number;
  readonly bytes: number;
  readonly log: string;
  readonly go: string;
}

export default defineWorker(async ({ id, bytes, log, go }: GatedTask): Promise<string> => {
  appendFileSync(log, `${id}\n`);
  while (!existsSync(go)) await new Promise((resolve) => setTimeout(resolve, 10));
  return `${id}:`.padEnd(bytes, '.');
});

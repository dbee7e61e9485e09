import { defineWorker } from 'looppool/worker';

/** What the remote worker can be asked (no shared memory: it runs on another host). */
export type RemoteTask =
  | { kind: 'whoami' }
  | { kind: 'refresh'; version: number }
  | { kind: 'emit'; value: string }
  | { kind: 'wait'; id: number }
  | { kind: 'spin' }
  | { kind: 'busy'; ms: number };

/** Which worker ran the task, in which process, and the version its last broadcast set. */
export interface Whoami {
  worker: number;
  pid: number;
  version: number;
}

let version = 0;

export default defineWorker({
  init(ctx: { index: number; emit(value: unknown): void }) {
    ctx.emit(`init ${ctx.index}`);
  },
  process(task: RemoteTask, ctx: { index: number; signal: AbortSignal; emit(value: unknown): void }): unknown {
    switch (task.kind) {
      case 'whoami':
        return { worker: ctx.index, pid: process.pid, version } satisfies Whoami;
      case 'refresh':
        version = task.version;
        return { worker: ctx.index, pid: process.pid, version } satisfies Whoami;
      case 'emit':
        ctx.emit(task.value);
        return 'emitted';
      case 'wait':
        return new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => {
            ctx.emit(`aborted ${task.id}`);
            reject(new Error('aborted'));
          }),
        );
      case 'spin':
        for (;;);
      case 'busy': {
        const until = Date.now() + task.ms;
        while (Date.now() < until);
        return 'done';
      }
    }
  },
});

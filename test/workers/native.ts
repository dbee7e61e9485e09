import { defineWorker } from 'looppool/worker';

/** What a task of the native worker does: the faults that only a worker process survives, and what it can report of itself. */
export type NativeTask =
  | { kind: 'abort' } // process.abort(), as a failed native assertion does: SIGABRT
  | { kind: 'segv' } // kills its own process with SIGSEGV, as a segfaulting addon is
  | { kind: 'oom' } // allocates until the heap limit (resourceLimits.maxOldGenerationSizeMb)
  | { kind: 'spin' } // blocks its event loop for ever
  | { kind: 'chdir'; dir: string } // changes the working directory of its process, and returns it
  | { kind: 'whoami' }; // returns its pid, its process title and its working directory

/** What `whoami` and `chdir` return. */
export interface NativeResult {
  readonly pid: number;
  readonly title: string;
  readonly cwd: string;
}

const whoami = (): NativeResult => ({ pid: process.pid, title: process.title, cwd: process.cwd() });

export default defineWorker((task: NativeTask): NativeResult => {
  switch (task.kind) {
    case 'abort':
      return process.abort();
    case 'segv':
      process.kill(process.pid, 'SIGSEGV');
      for (;;); // the signal arrives while this runs
    case 'oom': {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array<number>(1e6).fill(1));
    }
    case 'spin':
      for (;;);
    case 'chdir':
      process.chdir(task.dir);
      return whoami();
    case 'whoami':
      return whoami();
  }
});

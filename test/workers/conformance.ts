import { concat, delay, map, of, timer } from 'rxjs';
import { defineWorker } from 'looppool/worker';

/** One task of the conformance spec: which kind of output to return, and its timing. */
export interface Case {
  kind: 'value' | 'promise' | 'observable' | 'async-iterable' | 'error';
  value: number;
  /** Milliseconds (frames, in virtual time) before the first result. */
  delay: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The same definition runs in threads and, imported, inline: see test/conformance.test.ts. */
export default defineWorker((task: Case) => {
  switch (task.kind) {
    case 'value':
      return task.value;
    case 'promise':
      return sleep(task.delay).then(() => task.value);
    case 'observable':
      return concat(timer(task.delay).pipe(map(() => task.value)), of(task.value + 0.5).pipe(delay(1)));
    case 'async-iterable':
      return (async function* () {
        await sleep(task.delay);
        yield task.value;
        yield task.value + 0.5;
      })();
    case 'error':
      if (task.value === 3) throw new RangeError(`bad value ${task.value}`);
      return sleep(task.delay).then(() => task.value);
  }
});

import { Observable as FnsObservable } from 'observable-fns';
import { from, of } from 'rxjs';
import { defineWorker } from 'looppool/worker';

/** A task that says how to return its values: each kind of output a handler may return. */
export interface KindTask {
  kind: 'value' | 'promise' | 'rxjs' | 'observable-fns' | 'async-iterable' | 'empty';
  values: unknown[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export default defineWorker(({ kind, values }: KindTask) => {
  switch (kind) {
    case 'value':
      return values[0];
    case 'promise':
      return sleep(5).then(() => values[0]);
    case 'rxjs':
      return from(values);
    case 'observable-fns':
      return new FnsObservable<unknown>((observer) => {
        values.forEach((value) => observer.next(value));
        observer.complete();
      });
    case 'async-iterable':
      return (async function* () {
        for (const value of values) {
          await sleep(1);
          yield value;
        }
      })();
    case 'empty':
      return of();
  }
});

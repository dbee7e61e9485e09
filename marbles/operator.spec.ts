import { concatMap, mergeMap, take, type Observable } from 'rxjs';
import type { ColdObservable } from 'rxjs/internal/testing/ColdObservable';
import { inlinePool, testScheduler } from './support';

/** A cold observable of the TestScheduler, which records its subscriptions. */
type Cold<V> = ColdObservable<V>;

describe('loopPool engine in virtual time', () => {
  it('runs at most size × concurrency tasks at once', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const tasks: Record<string, Cold<string>> = {
        a: cold('---A|'),
        b: cold('-B|'),
        c: cold('-C|'),
        d: cold('--D|'),
      };
      const source = cold('abcd|');
      const output = source.pipe(inlinePool((key: string) => tasks[key]!, { size: 1, concurrency: 2 }));
      expectObservable(output).toBe('--BAC-D|');
      expectSubscriptions(tasks.a!.subscriptions).toBe('^---!');
      expectSubscriptions(tasks.b!.subscriptions).toBe('-^-!');
      expectSubscriptions(tasks.c!.subscriptions).toBe('---^-!');
      expectSubscriptions(tasks.d!.subscriptions).toBe('----^--!');
    });
  });

  it('keeps every worker busy: size workers run tasks side by side', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const task = cold('---x|');
      const output = cold('aaaa|').pipe(inlinePool(() => task, { size: 2 }));
      expectObservable(output).toBe('---xx--xx|');
      expectSubscriptions(task.subscriptions).toBe(['^---!', '-^---!', '----^---!', '-----^---!']);
    });
  });

  it('emits results as they finish by default, and in input order with ordered: true', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const tasks: Record<string, Cold<string>> = { a: cold('----A|'), b: cold('-B|'), c: cold('-C---|') };
      const source = cold('a-b-c|');
      const work = (key: string): Observable<string> => tasks[key]!;
      expectObservable(source.pipe(inlinePool(work, { size: 3 }))).toBe('---BAC---|');
      expectObservable(source.pipe(inlinePool(work, { size: 3, ordered: true }))).toBe('----A(BC)|');
    });
  });

  it('behaves as the marble diagram in the TSDoc of loopPool says', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const tasks: Record<string, Cold<string>> = { a: cold('----(A|)'), b: cold('----(B|)'), c: cold('-(C|)') };
      const source = cold('a----b-c------|');
      const work = (key: string): Observable<string> => tasks[key]!;
      expectObservable(source.pipe(inlinePool(work, 2))).toBe('----A---CB----|');
      expectObservable(source.pipe(inlinePool(work, { size: 2, ordered: true }))).toBe('----A----(BC)-|');
    });
  });

  it('matches concatMap when ordered, and mergeMap when not, for multi-value tasks', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const tasks: Record<string, Cold<number>> = {
        a: cold('1-2-3|', { 1: 1, 2: 2, 3: 3 }),
        b: cold('4---5----|', { 4: 4, 5: 5 }),
      };
      const source = cold('ab|');
      const work = (key: string): Observable<number> => tasks[key]!;
      const values = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 };
      expectObservable(source.pipe(inlinePool(work, { size: 2, ordered: true }))).toBe('1-2-3(45)-|', values);
      expectObservable(source.pipe(concatMap(work))).toBe('1-2-34---5----|', values);
      expectObservable(source.pipe(inlinePool(work, { size: 2 }))).toBe('142-35----|', values);
      expectObservable(source.pipe(mergeMap(work))).toBe('142-35----|', values);
    });
  });

  it('completes only after the source and every task have completed', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const task = cold('-----x|');
      const source = hot('a|');
      expectObservable(source.pipe(inlinePool(() => task, 1))).toBe('-----x|');
      const slowSource = hot('a------|');
      expectObservable(slowSource.pipe(inlinePool(() => task, 1))).toBe('-----x-|');
    });
  });

  it('errors the output with a TaskError naming the input, and cancels the other tasks', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const boom = new Error('boom');
      const tasks: Record<string, Cold<string>> = { a: cold('-----A|'), b: cold('--#', undefined, boom) };
      const output = cold('ab|').pipe(inlinePool((key: string) => tasks[key]!, 2));
      expectObservable(output).toBe(
        '---#',
        undefined,
        expect.objectContaining({ name: 'TaskError', index: 1, workerIndex: 1, input: 'b', cause: boom }),
      );
      expectSubscriptions(tasks.a!.subscriptions).toBe('^--!');
    });
  });

  it('in ordered mode, reports a failure only after every earlier result', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const tasks: Record<string, Cold<string>> = { a: cold('----A|'), b: cold('-#'), c: cold('C|') };
      const output = cold('abc|').pipe(inlinePool((key: string) => tasks[key]!, { size: 3, ordered: true }));
      expectObservable(output).toBe('----A#', undefined, expect.objectContaining({ name: 'TaskError', index: 1 }));
    });
  });

  it('cancels the tasks in flight when the subscriber unsubscribes, and never starts the rest', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const task = cold('----x|');
      const output = cold('aaa|').pipe(inlinePool(() => task, 2));
      expectObservable(output, '^--!').toBe('---');
      expectSubscriptions(task.subscriptions).toBe(['^--!', '-^-!']);
    });
  });

  it('stops at take(n): the first n results end everything', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const tasks: Record<string, Cold<string>> = { a: cold('--A|'), b: cold('-----B|') };
      const output = cold('ab|').pipe(inlinePool((key: string) => tasks[key]!, 2), take(1));
      expectObservable(output).toBe('--(A|)');
      expectSubscriptions(tasks.b!.subscriptions).toBe('-^!');
    });
  });

  it('errors the output when the source errors, cancelling tasks in flight', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const task = cold('-----x|');
      const output = cold('a-#').pipe(inlinePool(() => task, 1));
      expectObservable(output).toBe('--#');
      expectSubscriptions(task.subscriptions).toBe('^-!');
    });
  });

  it('holds back new tasks while the reorder buffer is full, but always starts the earliest', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const tasks: Record<string, Cold<string>> = {
        a: cold('------A|'),
        b: cold('B|'),
        c: cold('C---|'),
        d: cold('D----|'),
      };
      const output = cold('abcd|').pipe(
        inlinePool((key: string) => tasks[key]!, { size: 3, ordered: true, bufferSize: 2 }),
      );
      expectObservable(output).toBe('------A(BCD)|');
      // b's result fills the buffer halfway, so c starts; then B, b's completion and C wait for
      // a: the buffer is full and d, not the earliest unfinished task, waits until a finishes.
      expectSubscriptions(tasks.c!.subscriptions).toBe('--^---!');
      expectSubscriptions(tasks.d!.subscriptions).toBe('-------^----!');
    });
  });

  it('merges values that workers send with ctx.emit into the output', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('ab|').pipe(
        inlinePool<string, string>((key, ctx) => {
          ctx.emit(`hello from ${ctx.index}`);
          return cold('--r|', { r: key.toUpperCase() });
        }, 2),
      );
      expectObservable(output).toBe('xyAB|', { x: 'hello from 0', y: 'hello from 1', A: 'A', B: 'B' });
    });
  });

  it('spreads tasks over the least busy workers, ties round-robin', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('abcdef|').pipe(
        inlinePool((key: string, ctx) => cold('-r|', { r: `${key}${ctx.index}` }), { size: 3 }),
      );
      expectObservable(output).toBe('-abcdef|', { a: 'a0', b: 'b1', c: 'c2', d: 'd0', e: 'e1', f: 'f2' });
    });
  });
});

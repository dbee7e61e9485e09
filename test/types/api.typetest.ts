/**
 * Type tests, checked by `npm run typecheck` (they never run): the public API infers what a
 * user expects, and rejects what it should.
 */
import { from, of, type Observable, type OperatorFunction } from 'rxjs';
import { loopPool, TaskError, type LoopPoolOptions } from 'looppool';
import { inlineWorker, type InlineWorker } from 'looppool/testing';
import { defineWorker, type WorkerContext, type WorkerDefinition } from 'looppool/worker';

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
const assert = <T extends true>(): T => true as T;

// A process function's task and result types are inferred from its signature...
const sync = defineWorker((x: number) => x * 2);
assert<Equal<typeof sync, WorkerDefinition<number, number, unknown>>>();

// ...through a Promise, an Observable and an AsyncIterable, to the values they yield.
const promised = defineWorker(async (x: string) => x.length);
assert<Equal<typeof promised, WorkerDefinition<string, number, unknown>>>();
const streamed = defineWorker((x: number) => of(`${x}`, `${x + 1}`));
assert<Equal<typeof streamed, WorkerDefinition<number, string, unknown>>>();
const iterated = defineWorker(async function* (x: number) {
  yield x > 0;
});
assert<Equal<typeof iterated, WorkerDefinition<number, boolean, unknown>>>();

// workerData is typed through the context.
const withData = defineWorker({
  init(ctx: WorkerContext<{ table: string[] }>) {
    const table: string[] = ctx.workerData.table;
    void table;
  },
  process: (key: number, ctx: WorkerContext<{ table: string[] }>) => ctx.workerData.table[key] ?? '',
});
assert<Equal<typeof withData, WorkerDefinition<number, string, { table: string[] }>>>();

// The operator is typed by its explicit parameters.
const operator = loopPool<number, string>('./worker.js', 4);
assert<Equal<typeof operator, OperatorFunction<number, string>>>();
const results: Observable<string> = from([1, 2]).pipe(operator);
void results;

// Options are checked.
const options: LoopPoolOptions<{ table: string[] }> = { size: 2, ordered: true, workerData: { table: [] } };
void options;
// @ts-expect-error: size is a number
loopPool('./worker.js', { size: '2' });
// @ts-expect-error: unknown option
loopPool('./worker.js', { sise: 2 });
// @ts-expect-error: a worker is a path or a URL
loopPool(42);

// Errors expose their context.
declare const error: TaskError<number>;
const index: number = error.index;
const input: number = error.input;
void index;
void input;

// An inline worker keeps the definition's types, and loopPool infers them from it.
const inlined = inlineWorker(defineWorker((x: number) => of(`${x}`)));
assert<Equal<typeof inlined, InlineWorker<number, string, unknown>>>();
const inlineOperator = loopPool(inlineWorker(defineWorker(async (x: string) => x.length)), 2);
assert<Equal<typeof inlineOperator, OperatorFunction<string, number>>>();

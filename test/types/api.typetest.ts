/**
 * Type tests, checked by `npm run typecheck` (they never run): the public API infers what a
 * user expects, and rejects what it should.
 */
import { from, of, type Observable, type OperatorFunction } from 'rxjs';
import { createPool, loopPool, TaskError, type Delivery, type LoopPool, type LoopPoolOptions, type Settled } from 'looppool';
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

// ...whether or not ctx is annotated, in process or in init.
const bareCtx = defineWorker(async (x: number, ctx) => {
  void ctx.index;
  return `${x}`;
});
assert<Equal<typeof bareCtx, WorkerDefinition<number, string, unknown>>>();
const bareInit = defineWorker({
  init(ctx) {
    void ctx.workerData;
  },
  process: (x: number) => x > 1,
});
assert<Equal<typeof bareInit, WorkerDefinition<number, boolean, unknown>>>();
const bareBoth = defineWorker({
  async init(ctx) {
    void ctx.signal;
  },
  async process(key: string, ctx) {
    void ctx.index;
    return key.length;
  },
});
assert<Equal<typeof bareBoth, WorkerDefinition<string, number, unknown>>>();

// workerData is typed through the context, and an annotated init types process's ctx.
const withData = defineWorker({
  init(ctx: WorkerContext<{ table: string[] }>) {
    const table: string[] = ctx.workerData.table;
    void table;
  },
  process: (key: number, ctx: WorkerContext<{ table: string[] }>) => ctx.workerData.table[key] ?? '',
});
assert<Equal<typeof withData, WorkerDefinition<number, string, { table: string[] }>>>();
const dataFromInit = defineWorker({
  init(ctx: WorkerContext<{ offset: number }>) {
    void ctx;
  },
  process: (x: number, ctx) => x + ctx.workerData.offset,
});
assert<Equal<typeof dataFromInit, WorkerDefinition<number, number, { offset: number }>>>();

// Emitted values are typed by an annotated context and join the results; with explicit type
// arguments emit takes the result type; an unannotated context emits nothing.
const emitting = defineWorker({
  init(ctx: WorkerContext<unknown, 'ready'>) {
    ctx.emit('ready');
  },
  process: (x: number) => x,
});
assert<Equal<typeof emitting, WorkerDefinition<number, number | 'ready', unknown>>>();
const explicit = defineWorker<string, string>({
  init(ctx) {
    ctx.emit('hello');
  },
  process: (task) => task,
});
assert<Equal<typeof explicit, WorkerDefinition<string, string, unknown>>>();
defineWorker((x: number, ctx) => {
  // @ts-expect-error: an unannotated context does not say what it emits
  ctx.emit(x);
  return x;
});

// The operator is typed by its explicit parameters...
const operator = loopPool<number, string>('./worker.js', 4);
assert<Equal<typeof operator, OperatorFunction<number, string>>>();
const results: Observable<string> = from([1, 2]).pipe(operator);
void results;
// ...or by the worker module's type, with one type argument.
const squares = loopPool<typeof import('./workers/square.worker')>('./square.worker.js', 4);
assert<Equal<typeof squares, OperatorFunction<number, number>>>();
const lookups = loopPool<typeof import('./workers/lookup.worker')>('./lookup.worker.js', {
  size: 2,
  workerData: { entries: [['a', 1]] },
});
assert<Equal<typeof lookups, OperatorFunction<string, number | null>>>();
// @ts-expect-error: workerData is checked against the worker's
loopPool<typeof import('./workers/lookup.worker')>('./lookup.worker.js', { workerData: { entries: 'a' } });
// A definition's type works as well as its module's.
assert<Equal<ReturnType<typeof loopPool<typeof sync>>, OperatorFunction<number, number>>>();
// With no type argument, tasks and results are unknown, as they always were.
const untyped = loopPool('./worker.js');
assert<Equal<typeof untyped, OperatorFunction<unknown, unknown>>>();

// settle: true gives records; a settle only known to be a boolean gives either.
const settled = loopPool<number, string>('./worker.js', { settle: true });
assert<Equal<typeof settled, OperatorFunction<number, Settled<number, string>>>>();
declare const flag: boolean;
const maybeSettled = loopPool<number, string>('./worker.js', { settle: flag });
assert<Equal<typeof maybeSettled, OperatorFunction<number, string | Settled<number, string>>>>();
const moduleSettled = loopPool<typeof import('./workers/square.worker')>('./square.worker.js', { settle: flag });
assert<Equal<typeof moduleSettled, OperatorFunction<number, number | Settled<number, number>>>>();

// Options are checked.
const options: LoopPoolOptions<{ table: string[] }> = { size: 2, ordered: true, workerData: { table: [] } };
void options;
// @ts-expect-error: size is a number
loopPool('./worker.js', { size: '2' });
// @ts-expect-error: unknown option
loopPool('./worker.js', { sise: 2 });
// @ts-expect-error: unknown option, with type arguments
loopPool<number, number>('./worker.js', { concurency: 2 });
// @ts-expect-error: a worker is a path or a URL
loopPool(42);

// The pool is typed by the module too; its workerData is checked.
const pool = createPool<typeof import('./workers/square.worker')>('./square.worker.js', 2);
assert<Equal<typeof pool, LoopPool<number, number>>>();
const manual = createPool<typeof import('./workers/square.worker')>('./square.worker.js', { ack: 'manual' });
assert<Equal<typeof manual, LoopPool<number, number, Delivery<number>>>>();
const typedPool = createPool<string, number>('./worker.js', { size: 2 });
assert<Equal<typeof typedPool, LoopPool<string, number>>>();
// @ts-expect-error: workerData is checked against the worker's
createPool<typeof import('./workers/lookup.worker')>('./lookup.worker.js', { workerData: 1 });
// @ts-expect-error: a task of the wrong type
void pool.put('4');
// @ts-expect-error: unknown option of put
void pool.put(4, { worker_num: 1 });
const processed = pool.process([1, 2]);
assert<Equal<typeof processed, Observable<number>>>();
// @ts-expect-error: unknown option of process
pool.process([1], { concurency: 2 });
// pool.process as the operator: a settle known only to be a boolean gives either.
const processedMaybe = pool.process([1, 2], { settle: flag });
assert<Equal<typeof processedMaybe, Observable<number | Settled<number, number>>>>();
const processedSettled = pool.process([1, 2], { settle: true });
assert<Equal<typeof processedSettled, Observable<Settled<number, number>>>>();
const deliveredMaybe = pool.process([1, 2], { settle: flag, ack: 'manual' });
assert<Equal<typeof deliveredMaybe, Observable<Delivery<number | Settled<number, number>>>>>();
const piped = loopPool(pool, { settle: flag });
assert<Equal<typeof piped, OperatorFunction<number, number | Settled<number, number>>>>();

// Errors expose their context; a task's input is unknown where the error is caught.
declare const error: TaskError;
const index: number = error.index;
const input: unknown = error.input;
void index;
void input;
declare const legacy: TaskError<number>; // the former type argument still compiles
assert<Equal<typeof legacy.input, unknown>>();

// An inline worker keeps the definition's types, and loopPool infers them from it.
const inlined = inlineWorker(defineWorker((x: number) => of(`${x}`)));
assert<Equal<typeof inlined, InlineWorker<number, string, unknown>>>();
const inlineOperator = loopPool(inlineWorker(defineWorker(async (x: string) => x.length)), 2);
assert<Equal<typeof inlineOperator, OperatorFunction<string, number>>>();
const inlineBare = inlineWorker(async (x: string, ctx) => `${x}${ctx.index}`);
assert<Equal<typeof inlineBare, InlineWorker<string, string, unknown>>>();

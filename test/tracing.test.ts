import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { from, lastValueFrom, take, toArray } from 'rxjs';
import { createPool, loopPool, type LoopPool, type LoopPoolOptions } from 'looppool';
import { nats } from 'looppool/nats';
import type { TracedTask } from './workers/traced';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { workerPath } from './support/paths';
import { tally, type Tally } from './support/tally';
import { until } from './support/until';
import { workerTypes } from './support/workerTypes';

const traced = workerPath('traced.ts');

/** What an application's SDK registers in the pool's process: a context manager over AsyncLocalStorage. */
class TestContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active = (): Context => this.storage.getStore() ?? ROOT_CONTEXT;
  with = <A extends unknown[], F extends (...args: A) => ReturnType<F>>(c: Context, fn: F, self?: ThisParameterType<F>, ...args: A): ReturnType<F> =>
    this.storage.run(c, () => fn.apply(self, args));
  bind = <T>(_c: Context, target: T): T => target;
  enable = (): this => this;
  disable = (): this => (this.storage.disable(), this);
}

const exporter = new InMemorySpanExporter();
beforeAll(() => {
  context.setGlobalContextManager(new TestContextManager());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
});
afterAll(() => {
  trace.disable();
  context.disable();
});

/** The parent span id of a finished span (sdk-trace-base 2 keeps it in `parentSpanContext`). */
const parentOf = (span: ReadableSpan): string | undefined =>
  (span as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId ?? (span as { parentSpanId?: string }).parentSpanId;

/** How a test makes a pool of `traced.ts` workers, and a tally its workers can reach. */
interface Workers {
  pool(options: Pick<LoopPoolOptions, 'name' | 'retries'> & { workerData: Tally }): LoopPool<TracedTask, number>;
  tally(): Tally;
}

/** The traces tests, on workers that `workers()` makes (called in each test, after the suite's hooks). */
function tracesThroughThePool(workers: () => Workers): void {
  let pool: LoopPool<TracedTask, number> | undefined;
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
    exporter.reset();
  });

  it("makes one trace from the caller's span, through looppool.task and its attempt, to the spans the worker's code made", async () => {
    pool = workers().pool({ name: 'etl', workerData: workers().tally() });
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('request', async (request) => {
      await pool!.run({ id: 1 });
      request.end();
    });
    await until(() => exporter.getFinishedSpans().some((span) => span.name === 'worker.work'), 10_000);
    const spans = exporter.getFinishedSpans();
    const one = (name: string): ReadableSpan => {
      const found = spans.filter((span) => span.name === name);
      expect(found).toHaveLength(1);
      return found[0]!;
    };
    const [request, task, attempt, work, inner] = ['request', 'looppool.task', 'looppool.attempt', 'worker.work', 'worker.inner'].map(one);
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set([request!.spanContext().traceId]));
    expect(parentOf(task!)).toBe(request!.spanContext().spanId);
    expect(parentOf(attempt!)).toBe(task!.spanContext().spanId);
    expect(parentOf(work!)).toBe(attempt!.spanContext().spanId);
    expect(parentOf(inner!)).toBe(work!.spanContext().spanId); // made after an await: the context followed the task
    expect(task!.attributes).toMatchObject({ 'looppool.pool': 'etl', 'looppool.index': 0, 'looppool.worker': 'etl#0', 'looppool.outcome': 'done', 'looppool.attempts': 1 });
    expect(attempt!.attributes).toMatchObject({ 'looppool.worker': 'etl#0', 'looppool.attempt': 1, 'looppool.outcome': 'done' });
    expect(work!.attributes).toMatchObject({ 'task.id': 1 });
    // The worker's spans keep their times: inside the attempt.
    const ms = (time: [number, number]): number => time[0] * 1000 + time[1] / 1e6;
    expect(ms(work!.startTime)).toBeGreaterThanOrEqual(ms(attempt!.startTime) - 1);
    expect(ms(work!.endTime)).toBeLessThanOrEqual(ms(attempt!.endTime) + 1);
  });

  it('shows a crash and its retry as two attempt spans under one task span', async () => {
    pool = workers().pool({ retries: 1, workerData: workers().tally() });
    await expect(pool.run({ id: 2, crashOnce: true })).resolves.toBe(2);
    await until(() => exporter.getFinishedSpans().some((span) => span.name === 'worker.work'), 10_000);
    const spans = exporter.getFinishedSpans();
    const tasks = spans.filter((span) => span.name === 'looppool.task');
    expect(tasks).toHaveLength(1);
    const attempts = spans.filter((span) => span.name === 'looppool.attempt');
    expect(attempts.map((span) => [parentOf(span), span.attributes['looppool.attempt'], span.attributes['looppool.outcome']])).toEqual([
      [tasks[0]!.spanContext().spanId, 1, 'crashed'],
      [tasks[0]!.spanContext().spanId, 2, 'done'],
    ]);
    expect(attempts[0]!.status.code).toBe(2); // ERROR
    // The first run's span never ended (its worker died); the second's is under the second attempt.
    expect(spans.filter((span) => span.name === 'worker.work').map(parentOf)).toEqual([attempts[1]!.spanContext().spanId]);
  });
}

describe.each(workerTypes)('traces through the pool (%s workers)', (workerType) =>
  tracesThroughThePool(() => ({
    pool: (options) => createPool<TracedTask, number>(traced, { ...options, size: 1, workerType }),
    tally: () => tally(workerType, 64),
  })),
);

describe('the span of an input that an overflow strategy drops', () => {
  afterEach(() => exporter.reset());

  it.each(['drop-oldest', 'drop-newest'] as const)('ends, as dropped, with %s', async (strategy) => {
    const inputs = Array.from({ length: 20 }, (_, id): TracedTask => ({ id }));
    // All 20 come at once: the worker holds two at most, two wait, the others are dropped.
    const results = await lastValueFrom(
      from(inputs).pipe(loopPool<TracedTask, number>(traced, { size: 1, concurrency: 1, queueSize: 1, overflow: { size: 2, strategy } }), toArray()),
    );
    expect(results.length).toBeLessThan(inputs.length);
    const tasks = (): ReadableSpan[] => exporter.getFinishedSpans().filter((span) => span.name === 'looppool.task');
    await until(() => tasks().length === inputs.length, 5_000);
    const outcomes = new Map<unknown, number>();
    for (const task of tasks()) outcomes.set(task.attributes['looppool.outcome'], (outcomes.get(task.attributes['looppool.outcome']) ?? 0) + 1);
    expect(Object.fromEntries(outcomes)).toEqual({ done: results.length, dropped: inputs.length - results.length });
  });
});

describe('the span of an input still waiting when its pipeline ends', () => {
  let pool: LoopPool<TracedTask, number> | undefined;
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
    exporter.reset();
  });

  it('ends, as cancelled, under the index of its own input', async () => {
    pool = createPool<TracedTask, number>(traced, { size: 1, concurrency: 1, queueSize: 0 });
    const inputs = Array.from({ length: 10 }, (_, id): TracedTask => ({ id }));
    // All 10 come at once: the worker holds the first, the other nine wait in the pipeline's
    // line; the first result ends the pipeline, before any of the nine has started.
    await lastValueFrom(from(inputs).pipe(loopPool(pool), take(1)));
    const cancelled = (): unknown[] =>
      exporter
        .getFinishedSpans()
        .filter((span) => span.name === 'looppool.task' && span.attributes['looppool.outcome'] === 'cancelled')
        .map((span) => span.attributes['looppool.index']);
    await until(() => cancelled().length >= 9, 5_000);
    expect(cancelled()).toEqual(expect.arrayContaining([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(new Set(cancelled()).size).toBe(cancelled().length); // each span ended once
  });
});

describeWithNats('traces through the pool (workers on a host through NATS)', () => {
  let server: NatsServer;
  let host: Host;
  let pools = 0;
  beforeAll(async () => {
    server = await startNats();
  });
  // A host per test, serving a pool name of its own: the crash test ends a thread of it.
  let name: string;
  beforeEach(async () => {
    name = `traced${process.pid}-${++pools}`;
    host = startHost(traced, server.url, name, ['--threads', '1']);
    await host.printed(/serving pool/);
  });
  tracesThroughThePool(() => ({
    pool: (options) => createPool<TracedTask, number>(traced, { ...options, size: 1, transport: nats({ servers: server.url, pool: name }) }),
    // The host's threads are in another process: a tally in a directory.
    tally: () => tally('process', 64),
  }));
  // After the pool's own afterEach (hooks of one block run in the order they are declared).
  afterEach(() => host?.kill());
  afterAll(() => server?.stop());
});

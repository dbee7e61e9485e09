import { from, lastValueFrom, take, toArray, type Observable, type OperatorFunction } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { loopPool, TaskError, type LoopPoolOptions, type WorkerType } from 'looppool';
import { nats } from 'looppool/nats';
import { inlineWorker } from 'looppool/testing';
import conformance, { type Case } from './workers/conformance';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { workerPath } from './support/paths';
import { workerTypes } from './support/workerTypes';

/**
 * One spec, four transports: the same worker definition runs on threads, on processes and on
 * a host served through NATS in real time and
 * inline (under a TestScheduler where its outputs are scheduler-driven), and both must emit
 * the same values in ordered mode and the same multiset in unordered mode.
 */
type Outcome = { values: number[]; error?: { name: string; index: number; cause: string } };

const onWorkers = (workerType: WorkerType) => (options: LoopPoolOptions): OperatorFunction<Case, number> =>
  loopPool<Case, number>(workerPath('conformance.ts'), { ...options, workerType });
const inline = (options: LoopPoolOptions): OperatorFunction<Case, number> => loopPool(inlineWorker(conformance), options);

function outcome(output: Observable<number>): Promise<Outcome> {
  const values: number[] = [];
  return new Promise((resolve) =>
    output.subscribe({
      next: (value) => values.push(value),
      error: (error: TaskError) => resolve({ values, error: { name: error.name, index: error.index, cause: (error.cause as Error).message } }),
      complete: () => resolve({ values }),
    }),
  );
}

/** Runs the inline pipeline inside TestScheduler.run, so that timer() and delay() use virtual time. */
function inVirtualTime(output: () => Observable<number>): Promise<Outcome> {
  let result!: Promise<Outcome>;
  new TestScheduler((a, b) => expect(a).toEqual(b)).run(() => {
    result = outcome(output());
  });
  return result;
}

const tasks = (kind: Case['kind']): Case[] =>
  [30, 5, 20, 1, 10, 0].map((delay, value) => ({ kind, value, delay }));

const sortedValues = (o: Outcome): number[] => [...o.values].sort((a, b) => a - b);

/** The cases: workers of `onThreads` (whatever carries them) and inline workers agree. */
function agree(onThreads: (options: LoopPoolOptions) => OperatorFunction<Case, number>): void {
  describe.each([
    ['values', 'value', true],
    ['Promises', 'promise', false],
    ['Observables', 'observable', true],
    ['AsyncIterables', 'async-iterable', false],
  ] as const)('%s', (_, kind, virtual) => {
    it.each([true, false])('ordered: %p', async (ordered) => {
      const options = { size: 2, ordered };
      const threads = await outcome(from(tasks(kind)).pipe(onThreads(options)));
      const local = virtual
        ? await inVirtualTime(() => from(tasks(kind)).pipe(inline(options)))
        : await outcome(from(tasks(kind)).pipe(inline(options)));
      if (ordered) expect(local).toEqual(threads);
      else expect(sortedValues(local)).toEqual(sortedValues(threads));
      expect(local.error).toBeUndefined();
    });
  });

  it('errors: the same TaskError, after the same results in ordered mode', async () => {
    const options = { size: 2, ordered: true };
    const threads = await outcome(from(tasks('error')).pipe(onThreads(options)));
    const local = await outcome(from(tasks('error')).pipe(inline(options)));
    expect(local).toEqual(threads);
    expect(threads).toEqual({ values: [0, 1, 2], error: { name: 'TaskError', index: 3, cause: 'bad value 3' } });
  });

  it('unsubscription: take(n) gets the same first results, and stops the rest', async () => {
    const options = { size: 2, ordered: true };
    const threads = await lastValueFrom(from(tasks('promise')).pipe(onThreads(options), take(3), toArray()));
    const local = await lastValueFrom(from(tasks('promise')).pipe(inline(options), take(3), toArray()));
    expect(local).toEqual(threads);
    expect(threads).toEqual([0, 1, 2]);
  });
}

describe.each(workerTypes)('conformance: %s workers and inline agree', (workerType) => agree(onWorkers(workerType)));

describeWithNats('conformance: workers on a host through NATS and inline agree', () => {
  let server: NatsServer;
  let host: Host;
  const pool = `conformance${process.pid}`;
  beforeAll(async () => {
    server = await startNats();
    host = startHost(workerPath('conformance.ts'), server.url, pool, ['--threads', '2']);
    await host.printed(/serving pool/);
  });
  afterAll(async () => {
    await host?.kill();
    await server?.stop();
  });
  agree((options) => loopPool<Case, number>(workerPath('conformance.ts'), { ...options, transport: nats({ servers: server.url, pool }) }));
});

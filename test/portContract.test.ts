/**
 * The port contract: the same cases against every port the engine talks to (inline, a
 * thread, a process, a worker on another host through NATS), through the built package's
 * internals (`dist/transport`, `dist/nats`): a task's start, results and end; a crash
 * mid-task; a load failure; terminate while starting, and with a task and requests pending; a
 * probe that is not answered; an unsendable result. What every port promises is written in
 * src/transport/transport.ts; the bookkeeping they share is src/transport/ledger.ts and
 * src/transport/requests.ts.
 */
import { createPool, PoolClosedError } from 'looppool';
import { Hub } from '../dist/nats/hub';
import { inlineTransport } from '../dist/worker/inline';
import { processesTransport } from '../dist/transport/processes';
import { threadsTransport } from '../dist/transport/threads';
import type { Introspectable, Probeable, RunObserver, TaskFailure, PortFactory, WorkerExit, WorkerPort } from '../dist/transport/transport';
import contract, { type ContractTask } from './workers/contract';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { workerPath } from './support/paths';

type Port = WorkerPort<ContractTask, number> & Partial<Probeable & Introspectable>;
type Factory = (workerData: unknown) => PortFactory<ContractTask, number>;

const modulePath = workerPath('contract.ts');
const gracePeriod = 200;

/** A port under test, with what its listener heard. */
interface Subject {
  readonly port: Port;
  readonly exits: Array<WorkerExit<number>>;
  /** Resolves with the port's first exit. */
  readonly exited: Promise<WorkerExit<number>>;
  /** Whether `exited` was called before the port's constructor returned. */
  readonly exitedInConstructor: boolean;
}

function start(factory: Factory, workerData?: unknown): Subject {
  let constructed = false;
  let early = false;
  const exits: Array<WorkerExit<number>> = [];
  let first!: (exit: WorkerExit<number>) => void;
  const exited = new Promise<WorkerExit<number>>((resolve) => (first = resolve));
  const port = factory(workerData)(0, {
    emitted: () => {},
    unsendable: () => {},
    exited: (exit) => {
      early ||= !constructed;
      exits.push(exit);
      first(exit);
    },
  }) as Port;
  constructed = true;
  return {
    port,
    exits,
    exited,
    get exitedInConstructor() {
      return early;
    },
  };
}

/** An observer that writes down what it hears: `started`, `next 1`, `complete`, `error threw`. */
function recorder(): RunObserver<number> & { readonly events: string[]; readonly ended: Promise<string[]>; heard(event: string): Promise<void> } {
  const events: string[] = [];
  let end!: (events: string[]) => void;
  const ended = new Promise<string[]>((resolve) => (end = resolve));
  const waiters: Array<{ event: string; resolve(): void }> = [];
  const push = (event: string): void => {
    events.push(event);
    for (const waiter of waiters.filter((w) => w.event === event)) waiter.resolve();
  };
  return {
    events,
    ended,
    heard: (event) => (events.includes(event) ? Promise.resolve() : new Promise((resolve) => waiters.push({ event, resolve }))),
    started: () => push('started'),
    next: (value) => push(`next ${value}`),
    complete: () => {
      push('complete');
      end(events);
    },
    error: (failure: TaskFailure) => {
      push(`error ${failure.kind}${failure.kind === 'unserializable' ? ` ${failure.subject}` : ''}`);
      end(events);
    },
  };
}

/** What a task's observer heard, without `started` (which a port may report late, or imply by a result). */
const results = (events: readonly string[]): string[] => events.filter((event) => event !== 'started');

/**
 * The cases every port passes; `remote` ports (all but inline) also clone what crosses and
 * can be blocked, so they have two more.
 */
function contractCases(factory: () => Factory, remote: boolean): void {
  const ports: Port[] = [];
  const open = (workerData?: unknown): Subject => {
    const subject = start(factory(), workerData);
    ports.push(subject.port);
    return subject;
  };
  afterEach(async () => {
    await Promise.all(ports.splice(0).map((port) => port.terminate()));
  });

  test("a task's start, results and end, in order; nothing after its end", async () => {
    const { port, exits } = open();
    await port.ready;
    const task = recorder();
    port.run({ kind: 'values', values: [1, 2, 3] }, task);
    expect(results(await task.ended)).toEqual(['next 1', 'next 2', 'next 3', 'complete']);
    const after = recorder();
    port.run({ kind: 'values', values: [4] }, after);
    expect(results(await after.ended)).toEqual(['next 4', 'complete']);
    expect(exits).toEqual([]);
  });

  test('a crash mid-task (kill): exited once, with the task, which had started', async () => {
    const { port, exited, exits } = open();
    await port.ready;
    const task = recorder();
    port.run({ kind: 'wait', ms: 30_000 }, task);
    await task.heard('next 0');
    port.kill();
    const exit = await exited;
    expect(exit).toMatchObject({ kind: 'crashed', crash: 'unresponsive' });
    expect(exit.tasks).toEqual([expect.objectContaining({ observer: task, started: true, transferred: false })]);
    await port.terminate();
    expect(exits).toHaveLength(1);
    expect(results(task.events)).toEqual(['next 0']); // the engine decides its fate, not the port
  });

  test('a load failure: ready rejects with the exit, exited gets it after the constructor, with the tasks handed over', async () => {
    const { port, exited, exits } = start(factory(), { failInit: true });
    ports.push(port);
    const task = recorder();
    port.run({ kind: 'values', values: [1] }, task);
    const exit = await exited;
    expect(exit).toMatchObject({ kind: 'load', reason: expect.any(String) });
    expect(exit.tasks).toEqual([expect.objectContaining({ observer: task, started: false })]);
    await expect(port.ready).rejects.toBe(exit);
    expect(exits).toHaveLength(1);
    expect(exits[0]).toBe(exit);
  });

  test('terminate while starting: ready rejects with PoolClosedError (an inline worker whose init returned is ready at once), exited is not called', async () => {
    const { port, exits } = open();
    const task = recorder();
    port.run({ kind: 'values', values: [1] }, task);
    await port.terminate();
    if (remote) await expect(port.ready).rejects.toBeInstanceOf(PoolClosedError);
    else await expect(port.ready).resolves.toBeUndefined();
    expect(exits).toEqual([]);
    expect(results(task.events)).toEqual([]);
  });

  test('terminate with a task and requests pending: the requests end, the task hears nothing more, exited is not called', async () => {
    const { port, exits } = open();
    await port.ready;
    const task = recorder();
    port.run({ kind: 'wait', ms: 30_000 }, task);
    await task.heard('next 0');
    const sample = port.sample?.();
    await port.terminate();
    await sample; // settled, answered or not: it does not hang
    expect(exits).toEqual([]);
    expect(results(task.events)).toEqual(['next 0']);
  });

  (remote ? test : test.skip)('a probe that is not answered: a worker whose loop is held answers no probe; terminate ends the sample unanswered', async () => {
    const { port, exits } = open();
    await port.ready;
    let answered = false;
    const task = recorder();
    // The probe and the sample go after the task, which holds the loop from the moment it is read.
    port.run({ kind: 'block', ms: 30_000 }, task);
    port.probe!(() => (answered = true));
    const sample = port.sample!();
    await new Promise((resolve) => setTimeout(resolve, 300)); // time for an answer, if one could come
    await port.terminate();
    expect(await sample).toMatchObject({ figures: undefined });
    expect(answered).toBe(false);
    expect(exits).toEqual([]);
  });

  (remote ? test : test.skip)('an unsendable result fails its task as unserializable; the worker goes on', async () => {
    const { port, exits } = open();
    await port.ready;
    const task = recorder();
    port.run({ kind: 'unsendable' }, task);
    expect(results(await task.ended)).toEqual(['error unserializable result']);
    const after = recorder();
    port.run({ kind: 'values', values: [5] }, after);
    expect(results(await after.ended)).toEqual(['next 5', 'complete']);
    expect(exits).toEqual([]);
  });
}

describe('port contract: inline', () => {
  contractCases(() => (workerData) => inlineTransport(contract as never, workerData, 1), false);
});

describe('port contract: thread', () => {
  contractCases(() => (workerData) => threadsTransport(modulePath, { workerData, concurrency: 1, gracePeriod }), true);

  test('a workerData that cannot be cloned is a load failure, reported after the constructor has returned', async () => {
    const subject = start((workerData) => threadsTransport(modulePath, { workerData, concurrency: 1, gracePeriod }), () => 1);
    const exit = await subject.exited;
    expect(subject.exitedInConstructor).toBe(false);
    expect(exit).toMatchObject({ kind: 'load', workerDataUnsendable: true });
    await subject.port.terminate();
  });
});

describe('port contract: process', () => {
  contractCases(() => (workerData) => processesTransport(modulePath, { workerData, concurrency: 1, gracePeriod, name: 'contract' }), true);

  test('a workerData that cannot be cloned is a load failure, reported after the constructor has returned', async () => {
    const subject = start((workerData) => processesTransport(modulePath, { workerData, concurrency: 1, gracePeriod, name: 'contract' }), () => 1);
    const exit = await subject.exited;
    expect(subject.exitedInConstructor).toBe(false);
    expect(exit).toMatchObject({ kind: 'load', workerDataUnsendable: true });
    await subject.port.terminate();
  });
});

describeWithNats('port contract: NATS', () => {
  let server: NatsServer;
  let host: Host;
  const pool = `contract${process.pid}`;
  beforeAll(async () => {
    server = await startNats();
    host = startHost(modulePath, server.url, pool, ['--threads', '2']);
    await host.printed(/serving pool/);
  });
  afterAll(async () => {
    await host?.kill();
    await server?.stop();
  });
  const hub = (workerData: unknown): Hub =>
    new Hub(
      { servers: server.url, pool, ackWait: 3_000 },
      { workerData, concurrency: 1, gracePeriod, blockingThreshold: undefined, taskTimeout: undefined, name: 'contract' },
    );
  contractCases(() => (workerData) => hub(workerData).transport<ContractTask, number>(), true);
});

describe('the contract seen from the pool', () => {
  test('pool.ready after an early stop() rejects with PoolClosedError, where it hung', async () => {
    const pool = createPool(workerPath('echo.ts'), { size: 1, workerType: 'process' });
    const stopped = pool.stop();
    await expect(pool.ready).rejects.toBeInstanceOf(PoolClosedError);
    await stopped;
  });
});

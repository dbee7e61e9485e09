import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { concat, filter, firstValueFrom, from, lastValueFrom, switchMap, tap, toArray } from 'rxjs';
import { ClusterError, createPool, LoopBlockedWarning, loopPool, SerializationError, TaskTimeoutError, WorkerCrashError, WorkerLoadError, type Settled } from 'looppool';
import { nats } from 'looppool/nats';
import type { KindTask } from './workers/kinds';
import type { RemoteTask, Whoami } from './workers/remote';
import { until } from './support/until';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { workerPath } from './support/paths';

const execFileAsync = promisify(execFile);

/** The cluster transport against a real nats-server and two looppool-worker hosts. */
describeWithNats('nats transport', () => {
  let server: NatsServer;
  const hosts: Host[] = [];
  let pools = 0;
  /** A pool name of its own for each test, so that no host of an earlier test serves it. */
  const poolName = () => `t${process.pid}-${++pools}`;

  // One server for the file, clean between tests: each test has a pool name of its own and
  // kills its hosts (their connections close with them), so nothing of one test is left on it
  // for the next. The leak check counts the server among the children alive before each test.
  beforeAll(async () => {
    server = await startNats();
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.kill()));
  });
  afterAll(async () => {
    await server.stop();
  });

  const serve = async (worker: string, pool: string, threads = 2): Promise<Host> => {
    const host = startHost(workerPath(worker), server.url, pool, ['--threads', String(threads)]);
    hosts.push(host);
    await host.printed(/serving pool/);
    return host;
  };

  test('a pipeline runs unchanged on two hosts: every task kind, streamed results in order', async () => {
    const pool = poolName();
    await serve('kinds.ts', pool);
    await serve('kinds.ts', pool);
    const tasks: KindTask[] = [
      { kind: 'value', values: [1] },
      { kind: 'promise', values: [2] },
      { kind: 'rxjs', values: [3, 4, 5] },
      { kind: 'observable-fns', values: [6, 7] },
      { kind: 'async-iterable', values: Array.from({ length: 100 }, (_, i) => i) },
      { kind: 'empty', values: [] },
    ];
    const results = await lastValueFrom(
      from(tasks).pipe(loopPool<typeof import('./workers/kinds')>(workerPath('kinds.ts'), { size: 4, ordered: true, transport: nats({ servers: server.url, pool }) }), toArray()),
    );
    expect(results).toEqual([1, 2, 3, 4, 5, 6, 7, ...Array.from({ length: 100 }, (_, i) => i)]);
  });

  test('pool.ready resolves once every worker is served, and hosts say which they serve', async () => {
    const pool = poolName();
    const one = await serve('echo.ts', pool);
    const pooled = createPool(workerPath('echo.ts'), { size: 3, transport: nats({ servers: server.url, pool }) });
    try {
      let ready = false;
      void pooled.ready.then(() => (ready = true));
      await one.printed(/serving worker 1 of pool/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(ready).toBe(false); // 2 threads, 3 workers: one waits for a host
      const two = await serve('echo.ts', pool);
      await pooled.ready;
      await two.printed(/serving worker 2 of pool/);
      expect(await pooled.run({ hello: 'world' })).toEqual({ hello: 'world' });
    } finally {
      await pooled.terminate();
    }
  });

  test('a host SIGKILLed mid-run, in unordered, ordered and settle mode at once: every input ends exactly once, none lost, none twice', async () => {
    // A pool per mode, each on two hosts of its own, so that each loses two of its four workers;
    // the three victims die together, and the three runs wait out one ackWait, not one each.
    const modes = [
      ['unordered', {}],
      ['ordered', { ordered: true }],
      ['settle', { settle: true }],
    ] as const;
    const count = 400;
    const inputs = Array.from({ length: count }, (_, id) => ({ id, ms: 5 }));
    const victims: Host[] = [];
    let killedAt = 0;
    let killed!: () => void;
    const afterKill = new Promise<void>((resolve) => (killed = resolve));
    let reached = 0;
    // Each run has had 60 results: kill every victim.
    const reach = (): void => {
      if (++reached < modes.length) return;
      killedAt = Date.now();
      for (const victim of victims) victim.child.kill('SIGKILL');
      killed();
    };
    const outcomes = await Promise.all(
      modes.map(async ([name, mode]) => {
        const pool = poolName();
        victims.push(await serve('delayedEcho.ts', pool));
        await serve('delayedEcho.ts', pool);
        let seen = 0;
        let noticed = 0;
        const errors: unknown[] = [];
        // The rest of the inputs come after the kill: the pool, which does not know of it yet,
        // gives some to the dead host's workers, so the run cannot end before the loss is noticed
        // (on a loaded machine, the first 100 could otherwise all be done by the time of the kill).
        const source = concat(from(inputs.slice(0, 100)), from(afterKill).pipe(switchMap(() => from(inputs.slice(100)))));
        const pooled = createPool<typeof import('./workers/delayedEcho')>(workerPath('delayedEcho.ts'), {
          size: 4,
          ...mode,
          transport: nats({ servers: server.url, pool }),
          onError: (error) => {
            errors.push(error);
            noticed ||= Date.now();
          },
        });
        // Every worker served, two on each host: the victim's threads run tasks when it dies
        // (a worker of a host lost before it was ready ends with no error at all).
        await pooled.ready;
        const results = await lastValueFrom(
          pooled.process(source).pipe(
            tap(() => {
              if (++seen === 60) reach();
            }),
            toArray(),
          ),
        ).finally(() => pooled.terminate());
        // The mode is not known to the types here: a result is an id, or a Settled record in settle mode.
        const ids = (results as Array<number | Settled<unknown, number>>).map((result) =>
          typeof result === 'number' ? result : result.status === 'fulfilled' ? result.value : `rejected ${result.index}`,
        );
        return { name, mode, ids, errors, noticed };
      }),
    );
    expect(killedAt).toBeGreaterThan(0);
    for (const { name, mode, ids, errors, noticed } of outcomes) {
      // Each figure with its mode, so that a failure names the run.
      expect({ name, failed: ids.filter((id) => typeof id !== 'number') }).toEqual({ name, failed: [] });
      expect({ name, sorted: [...ids].sort((a, b) => (a as number) - (b as number)) }).toEqual({ name, sorted: inputs.map(({ id }) => id) });
      if ('ordered' in mode) expect({ name, ids }).toEqual({ name, ids: inputs.map(({ id }) => id) });
      expect({ name, reported: errors.length > 0 }).toEqual({ name, reported: true }); // the loss was reported...
      expect(noticed - killedAt).toBeLessThan(3_000 + 500); // ...within ackWait (3 s by default), a 50 ms check and a loaded machine
    }
  }, 30_000);

  describe('the pool API over NATS', () => {
    type Remote = typeof import('./workers/remote');
    const remotePool = (pool: string, extra: object = {}) =>
      createPool<Remote>(workerPath('remote.ts'), { size: 4, transport: nats({ servers: server.url, pool }), ...extra });

    test('ctx.emit, put to worker i, and broadcast once per worker, replayed to a replacement on another host', async () => {
      const pool = poolName();
      const first = await serve('remote.ts', pool);
      await serve('remote.ts', pool);
      const pooled = remotePool(pool);
      const emitted: unknown[] = [];
      pooled.results$.subscribe((value) => emitted.push(value));
      try {
        await pooled.ready;
        await until(() => emitted.filter((value) => String(value).startsWith('init')).length === 4);
        for (let worker = 0; worker < 4; worker++) {
          expect(((await pooled.run({ kind: 'whoami' }, { worker })) as Whoami).worker).toBe(worker);
        }
        await pooled.put({ kind: 'emit', value: 'hello' }, { worker: 2 });
        await until(() => emitted.includes('hello'));

        await pooled.broadcast({ kind: 'refresh', version: 7 });
        const refreshed = emitted.filter((value) => (value as Whoami | undefined)?.version === 7) as Whoami[];
        expect(refreshed.map((value) => value.worker).sort()).toEqual([0, 1, 2, 3]);

        // The first host dies; a new host takes over its workers, which replay the broadcast.
        const firstPids = new Set<number>();
        for (let worker = 0; worker < 4; worker++) firstPids.add(((await pooled.run({ kind: 'whoami' }, { worker })) as Whoami).pid);
        first.child.kill('SIGKILL');
        await serve('remote.ts', pool);
        await until(() => emitted.filter((value) => String(value).startsWith('init')).length === 6, 10_000);
        const after = await Promise.all([0, 1, 2, 3].map((worker) => pooled.run({ kind: 'whoami' }, { worker }) as Promise<Whoami>));
        expect(after.map((value) => value.version)).toEqual([7, 7, 7, 7]);
        expect(new Set(after.map((value) => value.pid)).size).toBe(2);
        expect(after.some((value) => !firstPids.has(value.pid))).toBe(true);
        // The broadcast's results came once per worker; a replay sets the replacement's state and yields nothing more.
        expect(emitted.filter((value) => (value as Whoami | undefined)?.version === 7)).toHaveLength(4);
      } finally {
        await pooled.terminate();
      }
    }, 30_000);

    describe('on two hosts kept for these tests', () => {
      // Two hosts of two threads each serve these tests in turn (a host boots in a second or
      // more under load): none kills a host, each pool stops its workers when its test ends,
      // and a pool is ready only once the hosts have threads for all its workers.
      const pool = poolName();
      let shared: Host[] = [];
      beforeAll(async () => {
        shared = [1, 2].map(() => startHost(workerPath('remote.ts'), server.url, pool, ['--threads', '2']));
        await Promise.all(shared.map((host) => host.printed(/serving pool/)));
      });
      afterAll(async () => {
        await Promise.all(shared.map((host) => host.kill()));
      });

      test('unsubscribing cancels the remote tasks: their ctx.signal aborts on the host', async () => {
        const pooled = remotePool(pool);
        const emitted: unknown[] = [];
        pooled.results$.subscribe((value) => emitted.push(value));
        try {
          await pooled.ready;
          const subscription = pooled.process(from([0, 1, 2, 3].map((id): RemoteTask => ({ kind: 'wait', id })))).subscribe();
          await until(() => pooled.stats().workers.every((worker) => worker.inFlight === 1));
          subscription.unsubscribe();
          await until(() => emitted.filter((value) => String(value).startsWith('aborted')).length === 4);
          expect(emitted.filter((value) => String(value).startsWith('aborted')).sort()).toEqual(['aborted 0', 'aborted 1', 'aborted 2', 'aborted 3']);
        } finally {
          await pooled.terminate();
        }
      });

      test('taskTimeout: a task that blocks its remote loop fails with TaskTimeoutError, the worker is replaced', async () => {
        const pooled = createPool<Remote>(workerPath('remote.ts'), { size: 2, taskTimeout: 300, transport: nats({ servers: server.url, pool }) });
        try {
          await pooled.ready;
          const error = await pooled.run({ kind: 'spin' }, { worker: 0 }).catch((reason: unknown) => reason);
          expect(error).toBeInstanceOf(TaskTimeoutError);
          expect(((await pooled.run({ kind: 'whoami' }, { worker: 0 })) as Whoami).worker).toBe(0);
        } finally {
          await pooled.terminate();
        }
      });

      test('blockingThreshold: a remote loop blocked past it raises LoopBlockedWarning naming the worker and the task', async () => {
        const pooled = createPool<Remote>(workerPath('remote.ts'), {
          name: 'api',
          size: 2,
          blockingThreshold: 100,
          transport: nats({ servers: server.url, pool }),
        });
        try {
          await pooled.ready;
          // Worker 1's warning: on a loaded machine an idle worker 0's loop can also be seen late past 100 ms, truly.
          const warning = firstValueFrom(pooled.warnings$.pipe(filter((w) => w instanceof LoopBlockedWarning && w.workerIndex === 1)));
          // Blocked well past the threshold: the host's loop watch (every 50 ms) must see it even when a loaded machine delays it.
          await pooled.put({ kind: 'busy', ms: 1_500 }, { worker: 1 });
          const raised = await warning;
          expect(raised).toBeInstanceOf(LoopBlockedWarning);
          expect(raised).toMatchObject({ workerIndex: 1, workerName: 'api#1', threshold: 100, input: { kind: 'busy', ms: 1_500 } });
        } finally {
          await pooled.terminate();
        }
      });

      test('stats() has each remote worker\'s figures', async () => {
        const pooled = createPool<Remote>(workerPath('remote.ts'), { size: 4, statsInterval: 200, transport: nats({ servers: server.url, pool }) });
        try {
          await pooled.ready;
          for (let worker = 0; worker < 4; worker++) await pooled.run({ kind: 'whoami' }, { worker });
          const stats = await firstValueFrom(pooled.stats$.pipe(filter((s) => s.workers.every((worker) => worker.heapUsed !== undefined))));
          expect(stats.workers.map((worker) => worker.done)).toEqual([1, 1, 1, 1]);
          for (const worker of stats.workers) {
            expect(worker.heapUsed).toBeGreaterThan(0);
            expect(worker.elu).toBeGreaterThanOrEqual(0);
          }
        } finally {
          await pooled.terminate();
        }
      });
    });
  });

  test('retries: a task whose remote worker dies runs again on a replacement, at most `retries` more times', async () => {
    const pool = poolName();
    await serve('crashOnceFile.ts', pool);
    await serve('crashOnceFile.ts', pool);
    const dir = mkdtempSync(join(tmpdir(), 'looppool-retries-'));
    const runs = (id: number): number => readFileSync(join(dir, `${id}.runs`), 'utf8').split('\n').length - 1;
    const pooled = createPool<typeof import('./workers/crashOnceFile')>(workerPath('crashOnceFile.ts'), {
      size: 2,
      retries: 2,
      transport: nats({ servers: server.url, pool }),
    });
    try {
      await pooled.ready;
      expect(await pooled.run({ id: 1, dir, crash: 'once' })).toBe(1);
      expect(runs(1)).toBe(2);
      const error: unknown = await pooled.run({ id: 2, dir, crash: 'always' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(WorkerCrashError);
      expect((error as WorkerCrashError).reason).toBe('exited');
      expect(runs(2)).toBe(3); // the first run and two retries
    } finally {
      await pooled.terminate();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  test('the pricing example runs unchanged on two hosts with --nats: the totals of local threads', async () => {
    const pool = poolName();
    const price = join(__dirname, '..', 'examples', 'pricing');
    for (const _ of [1, 2]) {
      const host = startHost(join(price, 'price.worker.ts'), server.url, pool, ['--threads', '1']);
      hosts.push(host);
      await host.printed(/serving pool/);
    }
    const run = async (...args: string[]): Promise<string> => (await execFileAsync(process.execPath, [join(price, 'main.ts'), ...args])).stdout;
    const local = await run();
    expect(local.trim().split('\n').map(Number)).toEqual([6, 16, 21]);
    expect(await run('--nats', server.url, '--pool', pool)).toBe(local);
    // It ran on the hosts (a host whose worker was not ready before the three lines were
    // priced may serve nothing).
    await until(() => hosts.some((host) => /serving worker \d of pool/.test(host.output())));
    // Two hosts and two programs start, each a Node process loading TypeScript: 21 s seen at a
    // load average of 24 on 2 cores.
  }, 60_000);

  test('a pool process that dies frees the threads it used on its hosts', async () => {
    const pool = poolName();
    const host = await serve('echo.ts', pool, 1);
    const child = spawn(process.execPath, [join(__dirname, 'support', 'natsPoolChild.js'), server.url, pool, workerPath('echo.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve()));
      await host.printed(/serving worker 0 of pool/);
      child.kill('SIGKILL');
      await host.printed(/stopped worker 0 of pool .*: its pool was not heard from for 3000 ms/, 6_000);
      // The thread is free again: another pool gets it.
      const next = createPool(workerPath('echo.ts'), { size: 1, transport: nats({ servers: server.url, pool }) });
      expect(await next.run('again')).toBe('again');
      await next.terminate();
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }, 20_000);

  test('a task that cannot be cloned fails with SerializationError; the worker goes on', async () => {
    const pool = poolName();
    await serve('echo.ts', pool, 1);
    const pooled = createPool(workerPath('echo.ts'), { size: 1, transport: nats({ servers: server.url, pool }) });
    try {
      await pooled.ready;
      await expect(pooled.run({ shared: new SharedArrayBuffer(8) })).rejects.toBeInstanceOf(SerializationError);
      expect(await pooled.run('still here')).toBe('still here');
    } finally {
      await pooled.terminate();
    }
  });

  test('a result its host cannot encode fails its task with SerializationError in its place; the worker goes on', async () => {
    // A SharedArrayBuffer crosses from the thread to its host, but not to the pool.
    const dir = mkdtempSync(join(tmpdir(), 'looppool-unsendable-'));
    const module = join(dir, 'shared.worker.js');
    writeFileSync(
      module,
      `const { defineWorker } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'worker', 'index.js'))});
      const { from } = require(${JSON.stringify(require.resolve('rxjs'))});
      module.exports = defineWorker((task) => {
        if (task === 'shared') return new SharedArrayBuffer(8);
        if (task === 'stream') return from([1, new SharedArrayBuffer(8), 3]);
        return task;
      });\n`,
    );
    const pool = poolName();
    const host = startHost(module, server.url, pool, ['--threads', '1']);
    hosts.push(host);
    await host.printed(/serving pool/);
    const transport = nats({ servers: server.url, pool });
    const pooled = createPool<string, unknown>(module, { size: 1, transport });
    try {
      await pooled.ready;
      await expect(pooled.run('shared')).rejects.toBeInstanceOf(SerializationError);
      const seen: unknown[] = [];
      await expect(lastValueFrom(pooled.process(from(['stream'])).pipe(tap((value) => seen.push(value))))).rejects.toBeInstanceOf(
        SerializationError,
      );
      expect(seen).toEqual([1]); // not 3, nor a completion after the error
      expect(await pooled.run('still here')).toBe('still here');
    } finally {
      await pooled.terminate();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('security and errors', () => {
    test('a wrong password is a ClusterError at once, not a hang', async () => {
      const secured = await startNats({ user: 'etl', pass: 'right' });
      try {
        const started = Date.now();
        const pooled = createPool(workerPath('echo.ts'), {
          size: 2,
          transport: nats({ servers: secured.url, pool: poolName(), user: 'etl', pass: 'wrong' }),
        });
        const error = await pooled.ready.then(
          () => undefined,
          (reason: unknown) => reason,
        );
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(error).toBeInstanceOf(WorkerLoadError);
        expect((error as Error).cause).toBeInstanceOf(ClusterError);
        expect((error as Error).message).toMatch(/Could not connect to NATS at .*: .*[Aa]uthorization.*check `user`\/`pass`/);
        await pooled.terminate();
      } finally {
        await secured.stop();
      }
    });

    test('the right password works, for the pool and for a host', async () => {
      const secured = await startNats({ user: 'etl', pass: 'right' });
      const pool = poolName();
      const host = startHost(workerPath('echo.ts'), secured.url, pool, ['--threads', '1', '--user', 'etl', '--pass', 'right']);
      try {
        await host.printed(/serving pool/);
        const pooled = createPool(workerPath('echo.ts'), { size: 1, transport: nats({ servers: secured.url, pool, user: 'etl', pass: 'right' }) });
        expect(await pooled.run(41)).toBe(41);
        await pooled.terminate();
      } finally {
        await host.kill();
        await secured.stop();
      }
    });

    test('TLS passes through: a pool and a host that trust the server\'s CA, and a pool that does not', async () => {
      const secured = await startNats(undefined, true);
      const pool = poolName();
      const host = startHost(workerPath('echo.ts'), secured.url, pool, ['--threads', '1', '--tls-ca', secured.caFile!]);
      try {
        await host.printed(/serving pool/);
        const pooled = createPool(workerPath('echo.ts'), { size: 1, transport: nats({ servers: secured.url, pool, tls: { caFile: secured.caFile! } }) });
        expect(await pooled.run('over tls')).toBe('over tls');
        await pooled.terminate();
        const untrusting = createPool(workerPath('echo.ts'), { size: 1, transport: nats({ servers: secured.url, pool, tls: {} }) });
        const error = await untrusting.ready.then(() => undefined, (reason: unknown) => reason);
        expect((error as Error).cause).toBeInstanceOf(ClusterError);
        expect((error as Error).message).toMatch(/Could not connect to NATS at .*; check `tls`/);
        await untrusting.terminate();
      } finally {
        await host.kill();
        await secured.stop();
      }
    });

    test('a host with a wrong password says so and exits', async () => {
      const secured = await startNats({ user: 'etl', pass: 'right' });
      const host = startHost(workerPath('echo.ts'), secured.url, poolName(), ['--user', 'etl', '--pass', 'wrong']);
      try {
        expect(await host.exited).toBe(1);
        expect(host.output()).toMatch(/looppool-worker: Could not connect to NATS .*[Aa]uthorization/);
      } finally {
        await host.kill();
        await secured.stop();
      }
    });

    test('options are checked at once: the pool name is a subject token', () => {
      expect(() => nats({ servers: server.url, pool: 'a.b' })).toThrow(/Expected `pool` to be a name of letters, digits, - and _/);
      expect(() => nats({ servers: server.url, pool: 'images', ackWait: 10 })).toThrow(RangeError);
      expect(() => nats({ servers: [], pool: 'images' })).toThrow(/Expected `servers`/);
      expect(() => nats({ servers: server.url, pool: 'images', passwd: 'x' } as never)).toThrow(/Unknown option `passwd`/);
      expect(() => createPool(workerPath('echo.ts'), { transport: {} as never })).toThrow(/Expected `transport` to be a transport of looppool\/nats/);
      expect(() =>
        createPool(workerPath('echo.ts'), { workerType: 'process', transport: nats({ servers: server.url, pool: 'images' }) }),
      ).toThrow(/do not go together/);
    });

    test('looppool-worker explains a wrong command line', async () => {
      const host = startHost(workerPath('echo.ts'), server.url, 'bad.name');
      expect(await host.exited).toBe(2);
      expect(host.output()).toMatch(/Expected --pool to be letters, digits, - and _[\s\S]*Usage: looppool-worker/);
      const missing = startHost(workerPath('nope.ts'), server.url, 'images');
      expect(await missing.exited).toBe(2);
      expect(missing.output()).toMatch(/Expected the worker module to exist, got .*nope\.ts \(no such file\)/);
      const halfTls = startHost(workerPath('echo.ts'), server.url, 'images', ['--tls-cert', 'client.pem']);
      expect(await halfTls.exited).toBe(2);
      expect(halfTls.output()).toMatch(/Expected --tls-cert and --tls-key together/);
    });
  });

  test('SIGTERM stops a host gracefully: it finishes what it runs, gives back the rest, nothing lost or twice', async () => {
    const pool = poolName();
    const leaving = await serve('delayedEcho.ts', pool);
    await serve('delayedEcho.ts', pool);
    const count = 300;
    const inputs = Array.from({ length: count }, (_, id) => ({ id, ms: 10 }));
    let seen = 0;
    const errors: Error[] = [];
    const results = await lastValueFrom(
      from(inputs).pipe(
        loopPool<typeof import('./workers/delayedEcho')>(workerPath('delayedEcho.ts'), {
          size: 4,
          retries: 0, // a task that ran and was given back would fail: none may be
          transport: nats({ servers: server.url, pool }),
          onError: (error) => errors.push(error),
        }),
        tap(() => {
          if (++seen === 50) leaving.child.kill('SIGTERM');
        }),
        toArray(),
      ),
    );
    expect([...results].sort((a, b) => a - b)).toEqual(inputs.map(({ id }) => id));
    expect(await leaving.exited).toBe(0);
    expect(leaving.output()).toMatch(/stopping: finishing what runs, giving back what has not started/);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error.message).toMatch(/was lost with its host/);
  }, 30_000);

  test('SIGTERM with tiny tasks, which a host hands its thread by the hundred: every input once', async () => {
    const pool = poolName();
    const leaving = await serve('echo.ts', pool, 1);
    await serve('echo.ts', pool, 1);
    const count = 20_000;
    const pooled = createPool<{ id: number }, { id: number }>(workerPath('echo.ts'), {
      size: 2,
      queueSize: 2_048,
      retries: 0, // a task that ran and was given back would fail: none may be
      transport: nats({ servers: server.url, pool }),
    });
    try {
      await pooled.ready;
      let seen = 0;
      const results = await lastValueFrom(
        pooled.process(from(Array.from({ length: count }, (_, id) => ({ id })))).pipe(
          tap(() => {
            if (++seen === count / 4) leaving.child.kill('SIGTERM');
          }),
          toArray(),
        ),
      );
      expect(results.map(({ id }) => id).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, id) => id));
      expect(await leaving.exited).toBe(0);
    } finally {
      await pooled.terminate();
    }
  }, 30_000);

  test('backpressure holds across the cluster: in flight never past size × (concurrency + queueSize)', async () => {
    const pool = poolName();
    await serve('echo.ts', pool);
    await serve('echo.ts', pool);
    const pooled = createPool<typeof import('./workers/echo')>(workerPath('echo.ts'), {
      size: 4,
      concurrency: 2,
      queueSize: 1,
      transport: nats({ servers: server.url, pool }),
    });
    try {
      await pooled.ready;
      let pulled = 0;
      let ended = 0;
      let most = 0;
      function* source(): Generator<number> {
        for (let i = 0; i < 20_000; i++) {
          pulled++;
          most = Math.max(most, pulled - ended);
          yield i;
        }
      }
      let sum = 0;
      await lastValueFrom(
        pooled.process(source()).pipe(
          tap((value) => {
            ended++;
            sum += value as number;
          }),
        ),
        { defaultValue: undefined },
      );
      expect(ended).toBe(20_000);
      expect(sum).toBe((20_000 * 19_999) / 2);
      // 4 × (2 + 1) in flight, plus the one just pulled and not yet handed over.
      expect(most).toBeLessThanOrEqual(4 * 3 + 1);
    } finally {
      await pooled.terminate();
    }
  }, 30_000);
});

describe('looppool/nats without its peer dependency', () => {
  test('nats(…) throws a ClusterError naming the package to install', () => {
    // A child in which @nats-io/* cannot be resolved, as in a project that did not install it.
    const script = `
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request.startsWith('@nats-io/')) throw Object.assign(new Error('Cannot find module ' + request), { code: 'MODULE_NOT_FOUND' });
        return resolve.call(this, request, ...rest);
      };
      const { nats } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'nats', 'index.js'))});
      try { nats({ servers: 'nats://127.0.0.1:4222', pool: 'images' }); } catch (error) { console.log(error.name + ': ' + error.message); }
    `;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(out.trim()).toBe(
      'ClusterError: looppool/nats needs the NATS client, an optional peer dependency that is not installed: run `npm install @nats-io/transport-node@^3.4.0`',
    );
  });
});

import { from, lastValueFrom, tap, toArray } from 'rxjs';
import { createPool, loopPool } from 'looppool';
import { nats } from 'looppool/nats';
import type { KindTask } from './workers/kinds';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { workerPath } from './support/paths';

/** The cluster transport against a real nats-server and two looppool-worker hosts. */
describeWithNats('nats transport', () => {
  let server: NatsServer;
  const hosts: Host[] = [];
  let pools = 0;
  /** A pool name of its own for each test, so that no host of an earlier test serves it. */
  const poolName = () => `t${process.pid}-${++pools}`;

  // A server per test: the leak check after each test counts child processes.
  beforeEach(async () => {
    server = await startNats();
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.kill()));
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

  describe.each([
    ['unordered', {}],
    ['ordered', { ordered: true }],
    ['settle', { settle: true }],
  ] as const)('a host SIGKILLed mid-run (%s)', (_mode, mode) => {
    test('every input ends exactly once: none lost, none twice', async () => {
      const pool = poolName();
      const victim = await serve('delayedEcho.ts', pool);
      await serve('delayedEcho.ts', pool);
      const count = 400;
      const inputs = Array.from({ length: count }, (_, id) => ({ id, ms: 5 }));
      let seen = 0;
      let killedAt = 0;
      let noticed = 0;
      const errors: unknown[] = [];
      const results = await lastValueFrom(
        from(inputs).pipe(
          loopPool<typeof import('./workers/delayedEcho')>(workerPath('delayedEcho.ts'), {
            size: 4,
            ...mode,
            transport: nats({ servers: server.url, pool }),
            onError: (error) => {
              errors.push(error);
              noticed ||= Date.now();
            },
          }),
          tap(() => {
            if (++seen === 60) {
              killedAt = Date.now();
              victim.child.kill('SIGKILL');
            }
          }),
          toArray(),
        ),
      );
      const ids = results.map((result) =>
        typeof result === 'number' ? result : result.status === 'fulfilled' ? result.value : `rejected ${result.index}`,
      );
      expect(ids.filter((id) => typeof id !== 'number')).toEqual([]);
      expect([...ids].sort((a, b) => (a as number) - (b as number))).toEqual(inputs.map(({ id }) => id));
      if ('ordered' in mode) expect(ids).toEqual(inputs.map(({ id }) => id));
      expect(killedAt).toBeGreaterThan(0);
      expect(errors.length).toBeGreaterThan(0); // the loss was reported...
      expect(noticed - killedAt).toBeLessThan(3_000 + 1_000); // ...within ackWait (3 s by default) and a tick
    }, 30_000);
  });
});

import { from, lastValueFrom, tap, toArray } from 'rxjs';
import { createPool, type Settled } from 'looppool';
import { nats } from 'looppool/nats';
import { describeWithNats, startHost, type Host } from './support/nats';
import { startNatsCluster, startRestartableNats, type RestartableNats } from './support/natsServer';
import { workerPath } from './support/paths';

/**
 * The NATS server restarted mid-run (killed, or stopped gracefully, and back on the same port
 * about a second later): core NATS loses what it carried, and what either side sends before
 * the other has subscribed again. Pool and hosts number their messages and send again what the
 * other did not get (docs/cluster.md, "Reconnection"): the run completes with every input once.
 */
describeWithNats('nats transport: the server restarted mid-run', () => {
  let server: RestartableNats;
  const hosts: Host[] = [];

  beforeEach(async () => {
    server = await startRestartableNats();
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.kill()));
    await server.stop();
  });

  const restartMidRun = async (signal: 'SIGKILL' | 'SIGTERM', mode: 'settle' | 'ordered', ackWait?: number): Promise<void> => {
    const pool = `restart${signal}${process.pid}`;
    for (let i = 0; i < 2; i++) hosts.push(startHost(workerPath('delayedEcho.ts'), server.url, pool, ['--threads', '1']));
    await Promise.all(hosts.map((host) => host.printed(/serving pool/)));
    const pooled = createPool<{ id: number; ms: number }, number>(workerPath('delayedEcho.ts'), {
      size: 2,
      concurrency: 4,
      transport: nats({ servers: server.url, pool, ...(ackWait === undefined ? {} : { ackWait }) }),
    });
    try {
      await pooled.ready;
      const inputs = Array.from({ length: 3_000 }, (_, id) => ({ id, ms: 2 }));
      let seen = 0;
      let restarted: Promise<void> | undefined;
      const out = await lastValueFrom(
        pooled.process(from(inputs), mode === 'settle' ? { settle: true } : { ordered: true }).pipe(
          tap(() => {
            if (++seen === 500) restarted = server.restart(signal, 1_000);
          }),
          toArray(),
        ),
      );
      await restarted;
      const ids = (out as Array<number | Settled<unknown, number>>).map((result) =>
        typeof result === 'number' ? result : result.status === 'fulfilled' ? result.value : `rejected ${result.index}: ${String(result.reason)}`,
      );
      expect(ids.filter((id) => typeof id !== 'number')).toEqual([]);
      expect([...ids].sort((x, y) => (x as number) - (y as number))).toEqual(inputs.map(({ id }) => id));
      if (mode === 'ordered') expect(ids).toEqual(inputs.map(({ id }) => id));
      // Neither side counted the other lost: its own outage is not the other's silence.
      for (const host of hosts) expect(host.output()).not.toMatch(/stopped worker/);
    } finally {
      await pooled.terminate();
    }
  };

  // With the default ackWait (3 s), as with a longer one that outlasts the outage.
  test('SIGKILLed and back on its port 1 s later: a settled run of 3,000 tasks completes with every input once', () => restartMidRun('SIGKILL', 'settle'), 60_000);

  test('SIGTERMed and back on its port 1 s later: an ordered run of 3,000 tasks completes with every input once, in order', () => restartMidRun('SIGTERM', 'ordered', 10_000), 60_000);
});

describeWithNats("nats transport: the pool's server of a cluster of three killed mid-run", () => {
  const hosts: Host[] = [];
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.kill()));
  });

  test('the pool fails over to another server and an ordered run of 3,000 tasks completes with every input once, in order', async () => {
    const cluster = await startNatsCluster(3);
    try {
      await cluster.joined();
      const pool = `failover${process.pid}`;
      const servers = cluster.urls.join(',');
      for (let i = 0; i < 2; i++) hosts.push(startHost(workerPath('delayedEcho.ts'), servers, pool, ['--threads', '1']));
      await Promise.all(hosts.map((host) => host.printed(/serving pool/)));
      const pooled = createPool<{ id: number; ms: number }, number>(workerPath('delayedEcho.ts'), {
        size: 2,
        concurrency: 4,
        transport: nats({ servers: cluster.urls, pool, ackWait: 10_000 }),
      });
      try {
        await pooled.ready;
        let poolServer: RestartableNats | undefined;
        for (const server of cluster.servers) if ((await server.clients()).includes(`looppool pool ${pool}`)) poolServer = server;
        expect(poolServer).toBeDefined();
        const inputs = Array.from({ length: 3_000 }, (_, id) => ({ id, ms: 2 }));
        let seen = 0;
        let killed: Promise<void> | undefined;
        const out = await lastValueFrom(
          pooled.process(from(inputs), { ordered: true }).pipe(
            tap(() => {
              if (++seen === 500) killed = poolServer!.down('SIGKILL');
            }),
            toArray(),
          ),
        );
        await killed;
        expect(out).toEqual(inputs.map(({ id }) => id));
        for (const host of hosts) expect(host.output()).not.toMatch(/stopped worker/);
      } finally {
        await pooled.terminate();
      }
    } finally {
      await cluster.stop();
    }
  }, 60_000);
});

import { from, lastValueFrom, toArray } from 'rxjs';
import { createPool, type Settled } from 'looppool';
import { nats } from 'looppool/nats';
import { runThroughFault, type Echo } from './support/faultRun';
import { describeWithNats, startHost, type Host } from './support/nats';
import { startNatsCluster, type NatsCluster, type RestartableNats } from './support/natsServer';
import { workerPath } from './support/paths';
import { until } from './support/until';

/**
 * A NATS cluster of three servers joined by routes: a pool given the three URLs
 * (`nats({ servers: [a, b, c] })`) and hosts given them as a list (`--nats a,b,c`) or one by one
 * (`--nats a --nats b --nats c`) go on through another server when theirs dies, between runs
 * and mid-run: what a server's death loses in flight is sent again (docs/cluster.md,
 * "Reconnection"), so every run completes with every input once.
 */
describeWithNats('nats transport: failover in a cluster of three servers', () => {
  let cluster: NatsCluster;
  const hosts: Host[] = [];

  beforeEach(async () => {
    cluster = await startNatsCluster(3);
    await cluster.joined();
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.kill()));
    await cluster.stop();
  });

  /** The running server that `client` (a connection name) is connected to, if any. */
  const serverOf = async (client: string): Promise<RestartableNats | undefined> => {
    for (const server of cluster.servers) if ((await server.clients()).includes(client)) return server;
    return undefined;
  };

  test(
    "the pool's server and then a host's server SIGKILLed between runs: every input of every run once, in unordered, ordered and settle mode",
    async () => {
      const pool = `failover${process.pid}`;
      const [a, b, c] = cluster.urls as [string, string, string];
      const listed = startHost(workerPath('delayedEcho.ts'), `${a},${b},${c}`, pool, ['--threads', '1']);
      const repeated = startHost(workerPath('delayedEcho.ts'), b, pool, ['--threads', '1', '--nats', c, '--nats', a]);
      hosts.push(listed, repeated);
      await Promise.all([listed.printed(/serving pool/), repeated.printed(/serving pool/)]);
      const pooled = createPool<{ id: number; ms: number }, number>(workerPath('delayedEcho.ts'), {
        size: 2,
        transport: nats({ servers: [a, b, c], pool }),
      });
      const modes = { unordered: {}, ordered: { ordered: true }, settle: { settle: true } } as const;
      const runOf = async (first: number, mode: keyof typeof modes): Promise<void> => {
        const options = modes[mode];
        const inputs = Array.from({ length: 200 }, (_, i) => ({ id: first + i, ms: 1 }));
        const out = await lastValueFrom(pooled.process(from(inputs), options).pipe(toArray()));
        const ids = (out as Array<number | Settled<unknown, number>>).map((result) =>
          typeof result === 'number' ? result : result.status === 'fulfilled' ? result.value : `rejected ${result.index}: ${String(result.reason)}`,
        );
        expect(ids.filter((id) => typeof id !== 'number')).toEqual([]);
        expect([...ids].sort((x, y) => (x as number) - (y as number))).toEqual(inputs.map(({ id }) => id));
        if (mode === 'ordered') expect(ids).toEqual(inputs.map(({ id }) => id));
      };
      try {
        await pooled.ready;
        await runOf(0, 'unordered');

        const poolName = `looppool pool ${pool}`;
        const poolServer = (await serverOf(poolName))!;
        expect(poolServer).toBeDefined();
        await poolServer.down('SIGKILL');
        await until(async () => (await serverOf(poolName)) !== undefined, 15_000); // reconnected to another
        await runOf(1_000, 'ordered');

        const hostName = `looppool-worker ${pool}`;
        const hostServer = (await Promise.all(cluster.servers.filter((server) => server.running).map(async (server) => ((await server.clients()).includes(hostName) ? server : undefined)))).find(
          (server) => server !== undefined,
        )!;
        const before = (await hostServer.clients()).filter((name) => name === hostName).length;
        expect(before).toBeGreaterThan(0);
        await hostServer.down('SIGKILL');
        const last = cluster.servers.find((server) => server.running)!;
        // Both hosts, and the pool, are now on the last server.
        await until(async () => (await last.clients()).filter((name) => name === hostName).length === 2, 15_000);
        await until(async () => (await last.clients()).includes(poolName), 15_000);
        await runOf(2_000, 'settle');
        await runOf(3_000, 'unordered');
      } finally {
        await pooled.terminate();
      }
    },
    60_000,
  );

  /** Two hosts of one thread given `hostServers`, and a pool of two workers of `concurrency` 4 given `poolServers`. */
  const startPool = async (name: string, poolServers: string[], hostServers: string[]) => {
    const pool = `${name}${process.pid}`;
    for (let i = 0; i < 2; i++) hosts.push(startHost(workerPath('delayedEcho.ts'), hostServers.join(','), pool, ['--threads', '1']));
    await Promise.all(hosts.map((host) => host.printed(/serving pool/)));
    const pooled = createPool<Echo, number>(workerPath('delayedEcho.ts'), {
      size: 2,
      concurrency: 4,
      transport: nats({ servers: poolServers, pool, ackWait: 10_000 }),
    });
    await pooled.ready.catch(async (error: unknown) => {
      await pooled.terminate();
      throw error;
    });
    return { pooled, poolName: `looppool pool ${pool}`, hostName: `looppool-worker ${pool}` };
  };

  test("the pool's server SIGKILLed mid-run: the pool fails over and an ordered run of 3,000 tasks completes with every input once, in order", async () => {
    const { pooled, poolName } = await startPool('poolfailover', cluster.urls, cluster.urls);
    try {
      const poolServer = await serverOf(poolName);
      expect(poolServer).toBeDefined();
      await runThroughFault(pooled, hosts, 'ordered', () => poolServer!.down('SIGKILL'));
    } finally {
      await pooled.terminate();
    }
  }, 60_000);

  test("a host's server SIGKILLed mid-run: the host fails over and an ordered run of 3,000 tasks completes with every input once, in order", async () => {
    // The pool on the first server only, the hosts on the other two: the server killed is a host's, never the pool's.
    const [a, b, c] = cluster.servers as [RestartableNats, RestartableNats, RestartableNats];
    const { pooled, hostName } = await startPool('hostfailover', [a.url], [b.url, c.url]);
    try {
      const hostsOn = async (server: RestartableNats): Promise<number> => (await server.clients()).filter((name) => name === hostName).length;
      const [hostServer, survivor] = (await hostsOn(b)) > 0 ? [b, c] : [c, b];
      expect(await hostsOn(hostServer)).toBeGreaterThan(0);
      await runThroughFault(pooled, hosts, 'ordered', () => hostServer.down('SIGKILL'));
      // Both hosts went on through a server still up (the one left of theirs, or the pool's, which the cluster told them of).
      await until(async () => (await hostsOn(survivor)) + (await hostsOn(a)) === 2, 15_000);
    } finally {
      await pooled.terminate();
    }
  }, 60_000);
});

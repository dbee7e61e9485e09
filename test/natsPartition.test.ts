/**
 * A host's link to its server broken mid-run for less than `ackWait`, through a TCP proxy of the
 * test's own: cut (its connections reset: what was in them is lost, and its client dials again),
 * or blackholed (nothing passes, the sockets stay open, and everything held passes once healed).
 * The other host and the pool keep their links. The host is neither lost nor stopped: what was
 * lost is sent again (docs/cluster.md, "Reconnection"), and no task's clock runs while its host
 * is unheard, so with a `taskTimeout` shorter than the break no task times out.
 */
import { createPool, type LoopPool } from 'looppool';
import { nats } from 'looppool/nats';
import { runThroughFault, type Echo } from './support/faultRun';
import { describeWithNats, startHost, type Host } from './support/nats';
import { startRestartableNats, type RestartableNats } from './support/natsServer';
import { workerPath } from './support/paths';
import { startTcpProxy, type TcpProxy } from './support/tcpProxy';

describeWithNats("nats transport: a host's link cut or blackholed mid-run, for less than ackWait", () => {
  let server: RestartableNats;
  let proxy: TcpProxy;
  const hosts: Host[] = [];

  beforeEach(async () => {
    server = await startRestartableNats();
    proxy = await startTcpProxy(server.port);
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.kill()));
    await proxy.close();
    await server.stop();
  });

  /**
   * One host of one thread behind the proxy, one on the server itself, and a pool of two
   * workers (`concurrency` 4, `taskTimeout` 1 s, `retries` 0) on the server: one worker on each.
   */
  const startPool = async (name: string): Promise<LoopPool<Echo, number>> => {
    const pool = `${name}${process.pid}`;
    hosts.push(startHost(workerPath('delayedEcho.ts'), proxy.url, pool, ['--threads', '1']));
    hosts.push(startHost(workerPath('delayedEcho.ts'), server.url, pool, ['--threads', '1']));
    await Promise.all(hosts.map((host) => host.printed(/serving pool/)));
    expect(proxy.connections).toBe(1); // the first host's, through the proxy
    const pooled = createPool<Echo, number>(workerPath('delayedEcho.ts'), {
      size: 2,
      concurrency: 4,
      taskTimeout: 1_000,
      retries: 0,
      transport: nats({ servers: server.url, pool, ackWait: 10_000 }),
    });
    await pooled.ready.catch(async (error: unknown) => {
      await pooled.terminate();
      throw error;
    });
    return pooled;
  };

  test.each([
    ['cut (connections reset) for 1 s: a settled run', 'cut', 1_000, 'settle'],
    ['blackholed (packets held, sockets open) for 2 s: an ordered run', 'blackhole', 2_000, 'ordered'],
  ] as const)('%s of 2,000 tasks completes with every input once, none timed out, no worker stopped', async (_, how, ms, mode) => {
    const pooled = await startPool(how);
    try {
      await runThroughFault(pooled, hosts, mode, async () => {
        proxy[how]();
        await new Promise((resolve) => setTimeout(resolve, ms));
        proxy.heal();
      }, { count: 2_000 });
    } finally {
      await pooled.terminate();
    }
  }, 60_000);
});

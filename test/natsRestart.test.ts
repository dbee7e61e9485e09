import { createPool } from 'looppool';
import { nats } from 'looppool/nats';
import { runThroughFault, type Echo } from './support/faultRun';
import { describeWithNats, startHost, type Host } from './support/nats';
import { startRestartableNats, type RestartableNats } from './support/natsServer';
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

  /** Two hosts of one thread, and a pool of two workers of `concurrency` 4 served by them, with `options` beside. */
  const startPool = async (name: string, options: { ackWait?: number; taskTimeout?: number; retries?: number } = {}) => {
    const pool = `${name}${process.pid}`;
    for (let i = 0; i < 2; i++) hosts.push(startHost(workerPath('delayedEcho.ts'), server.url, pool, ['--threads', '1']));
    await Promise.all(hosts.map((host) => host.printed(/serving pool/)));
    const { ackWait, ...rest } = options;
    const pooled = createPool<Echo, number>(workerPath('delayedEcho.ts'), {
      size: 2,
      concurrency: 4,
      ...rest,
      transport: nats({ servers: server.url, pool, ...(ackWait === undefined ? {} : { ackWait }) }),
    });
    await pooled.ready.catch(async (error: unknown) => {
      await pooled.terminate();
      throw error;
    });
    return pooled;
  };

  const restartMidRun = async (signal: 'SIGKILL' | 'SIGTERM', mode: 'settle' | 'ordered', ackWait?: number): Promise<void> => {
    const pooled = await startPool(`restart${signal}`, ackWait === undefined ? {} : { ackWait });
    try {
      await runThroughFault(pooled, hosts, mode, () => server.restart(signal, 1_000));
    } finally {
      await pooled.terminate();
    }
  };

  // With the default ackWait (3 s), as with a longer one that outlasts the outage.
  test('SIGKILLed and back on its port 1 s later: a settled run of 3,000 tasks completes with every input once', () => restartMidRun('SIGKILL', 'settle'), 60_000);

  test('SIGTERMed and back on its port 1 s later: an ordered run of 3,000 tasks completes with every input once, in order', () => restartMidRun('SIGTERM', 'ordered', 10_000), 60_000);

  // The outage (the server down 2.5 s, and the clients' next dial 2 s after their last: about 4 s)
  // outlasts taskTimeout and its gracePeriod, but not ackWait: no task's clock runs while the
  // pool's connection is down or its host unheard, so none times out and no worker is killed.
  test('an outage longer than taskTimeout (1 s): no healthy task times out, none is charged, every input once', async () => {
    const pooled = await startPool('outage', { taskTimeout: 1_000, retries: 0, ackWait: 15_000 });
    try {
      await runThroughFault(pooled, hosts, 'settle', () => server.restart('SIGKILL', 2_500), { count: 2_000, after: 300 });
    } finally {
      await pooled.terminate();
    }
  }, 60_000);
});

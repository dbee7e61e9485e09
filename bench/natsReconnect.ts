/**
 * What the NATS client does when its server dies, measured: `NODE_OPTIONS='--require tsx/cjs'
 * node bench/natsReconnect.ts` (needs `nats-server` on PATH). A client with the options
 * looppool's pool and hosts use (reconnect for ever, not waiting on the first connect):
 *  1. its server SIGKILLed, then SIGTERMed, and started again on the same port after 1 s, and
 *     SIGKILLed for 2 s: when the client sees the disconnection, when the server is up again,
 *     when the client has reconnected;
 *  2. in a cluster of three servers joined by routes, the client's server SIGKILLed: when the
 *     client has reconnected to another.
 * The figures are what the fault tests of issue 21 plan around (docs/cluster.md).
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsCluster, startRestartableNats } from '../test/support/natsServer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the ms from `t0` to the client's first status of `type`. */
function when(nc: NatsConnection, type: 'disconnect' | 'reconnect', t0: number): Promise<number> {
  return (async () => {
    for await (const status of nc.status()) if (status.type === type) return performance.now() - t0;
    return Number.NaN;
  })();
}

async function main(): Promise<void> {
  const server = await startRestartableNats();
  for (const [signal, down] of [['SIGKILL', 1_000], ['SIGTERM', 1_000], ['SIGKILL', 2_000]] as const) {
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, waitOnFirstConnect: false });
    const t0 = performance.now();
    const disconnected = when(nc, 'disconnect', t0);
    const reconnected = when(nc, 'reconnect', t0);
    await server.restart(signal, down);
    const up = performance.now() - t0;
    const [lost, back] = await Promise.all([disconnected, reconnected]);
    console.log(`${signal}, down ${down} ms: disconnection seen at ${lost.toFixed(0)} ms, server up at ${up.toFixed(0)} ms, reconnected at ${back.toFixed(0)} ms`);
    await nc.close();
  }
  await server.stop();

  const cluster = await startNatsCluster(3);
  await cluster.joined();
  const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1 });
  const t0 = performance.now();
  const reconnected = when(nc, 'reconnect', t0);
  const on = cluster.servers.find((candidate) => candidate.port === nc.info?.port)!;
  await on.down('SIGKILL');
  console.log(`cluster of 3, the client's server SIGKILLed: reconnected to another at ${(await reconnected).toFixed(0)} ms`);
  await nc.close();
  await sleep(10);
  await cluster.stop();
}

void main();

/**
 * A link that loses the pool's words but not the host's: the host stops the pool's worker
 * when it has not heard the pool for `ackWait`, while the pool, which still hears the host,
 * goes on counting on that worker. When the pool speaks again, the host tells it the worker
 * is gone and what became of its tasks, so the next tasks run on a new worker instead of
 * waiting for ever. (A NATS server restarted under a cluster pool can cause this: the pool's
 * reconnect takes longer than `ackWait` at the host, but not at the pool.)
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { createPool } from 'looppool';
import { nats } from 'looppool/nats';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { workerPath } from './support/paths';
import { startTcpProxy, type TcpProxy } from './support/tcpProxy';
import { within } from './support/until';

describeWithNats('a host that stopped the workers of a pool it did not hear', () => {
  let server: NatsServer;
  let proxy: TcpProxy;
  let host: Host | undefined;
  beforeEach(async () => {
    server = await startNats();
    proxy = await startTcpProxy(Number(new URL(server.url).port));
  });
  afterEach(async () => {
    await host?.kill();
    host = undefined;
    await proxy.close();
    await server.stop();
  });

  test('tells the pool when it speaks again: the tasks sent to the stopped worker run on a new one, each once', async () => {
    const pool = `silentpool${process.pid}`;
    host = startHost(workerPath('delayedEcho.ts'), server.url, pool, ['--threads', '1']);
    await host.printed(/serving pool/);
    const pooled = createPool<{ id: number; ms: number }, number>(workerPath('delayedEcho.ts'), {
      size: 1,
      transport: nats({ servers: [proxy.url], pool, ackWait: 1_000 }),
    });
    const run = (first: number): Promise<number[]> =>
      lastValueFrom(pooled.process(from(Array.from({ length: 50 }, (_, i) => ({ id: first + i, ms: 1 })))).pipe(toArray()));
    try {
      await pooled.ready;
      expect((await run(0)).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));

      proxy.mute(); // the pool hears the host; the host no longer hears the pool
      await host.printed(/stopped worker 0 of pool .*: its pool was not heard from/, 15_000);
      proxy.heal();

      const second = await within(run(100), 20_000, 'the run after the host stopped the worker did not end within 20 s');
      expect(second.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
    } finally {
      await pooled.terminate();
    }
  }, 60_000);
});

/**
 * A link that loses the pool's words but not the host's: the host stops the pool's worker
 * when it has not heard the pool for `ackWait`, while the pool, which still hears the host,
 * goes on counting on that worker. When the pool speaks again, the host tells it the worker
 * is gone and what became of its tasks, so the next tasks run on a new worker instead of
 * waiting for ever. (A NATS server restarted under a cluster pool can cause this: the pool's
 * reconnect takes longer than `ackWait` at the host, but not at the pool.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { createPool } from 'looppool';
import { nats } from 'looppool/nats';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { workerPath } from './support/paths';
import { startTcpProxy, type TcpProxy } from './support/tcpProxy';
import { until, within } from './support/until';

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
  test('sends the results that waited for the pool\'s window before it stops the worker: a task that ended runs once', async () => {
    // The host hears nothing from the pool, so no acknowledgement: past its 4 MiB window, the
    // results of tasks that ended wait at the host. Its exit report lists only the tasks its
    // thread still holds, so a result it dropped with the pool would make its task count as
    // never started, and run again.
    const dir = mkdtempSync(join(tmpdir(), 'looppool-silent-'));
    const log = join(dir, 'runs');
    const go = join(dir, 'go');
    writeFileSync(log, '');
    const pool = `silentwindow${process.pid}`;
    host = startHost(workerPath('gatedMake.ts'), server.url, pool, ['--threads', '1']);
    await host.printed(/serving pool/);
    const pooled = createPool<{ id: number; bytes: number; log: string; go: string }, string>(workerPath('gatedMake.ts'), {
      size: 1,
      queueSize: 16,
      transport: nats({ servers: [proxy.url], pool, ackWait: 1_000 }),
    });
    const ids = Array.from({ length: 12 }, (_, i) => i);
    try {
      await pooled.ready;
      const run = lastValueFrom(pooled.process(from(ids.map((id) => ({ id, bytes: 1024 * 1024, log, go })))).pipe(toArray()));
      await until(() => readFileSync(log, 'utf8').length > 0, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the other tasks' records reach the host
      proxy.mute();
      writeFileSync(go, '');
      await host.printed(/stopped worker 0 of pool .*: its pool was not heard from/, 15_000);
      proxy.heal();
      const results = await within(run, 20_000, 'the run did not end within 20 s of the host stopping the worker');
      expect(results.map((value) => Number(value.slice(0, value.indexOf(':')))).sort((a, b) => a - b)).toEqual(ids);
      const runs = readFileSync(log, 'utf8').trim().split('\n').map(Number);
      expect(runs.sort((a, b) => a - b)).toEqual(ids);
    } finally {
      await pooled.terminate();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

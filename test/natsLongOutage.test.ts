/**
 * A host out of reach for longer than `ackWait` (issue 21, items 3 and 1), then back: its link
 * cut (connections reset) or blackholed (packets held, sockets open) through a TCP proxy of the
 * test's own, or the host frozen with SIGSTOP and resumed with SIGCONT. The pool counts it lost
 * `ackWait` after its last word, and the engine decides each of its tasks (they run again, on
 * the other host, with `retries`); when the host is back, its late messages are dropped, it
 * stops the worker it served for the pool, and serves again: the worker that replaced the lost
 * one runs on it. Every input ends exactly once; the other host's worker is never blamed.
 */
import { concat, from, lastValueFrom, switchMap, tap, toArray } from 'rxjs';
import { createPool, type LoopPoolError, type Settled } from 'looppool';
import { nats } from 'looppool/nats';
import type { Echo } from './support/faultRun';
import { describeWithNats, startHost, type Host } from './support/nats';
import { startRestartableNats, type RestartableNats } from './support/natsServer';
import { workerPath } from './support/paths';
import { startTcpProxy, type TcpProxy } from './support/tcpProxy';
import { until, within } from './support/until';

/** The default: the pool counts a host lost after this much silence. */
const ackWait = 3_000;
/** How long the host is out of reach: well past `ackWait`. */
const outage = ackWait + 2_000;

/**
 * About 40 s of outages: .ci/run runs them on the soak's Node version only (LOOPPOOL_SOAK=skip on
 * the others) to keep CI under 30 minutes; `npm test` alone runs them.
 */
const describeLongOutages = process.env.LOOPPOOL_SOAK === 'skip' ? describe.skip : describeWithNats;

describeLongOutages('nats transport: a host out of reach for longer than ackWait, then back', () => {
  let server: RestartableNats;
  let proxy: TcpProxy;
  const hosts: Host[] = [];

  beforeEach(async () => {
    server = await startRestartableNats();
    proxy = await startTcpProxy(server.port);
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.kill())); // SIGKILL ends a stopped process too
    await proxy.close();
    await server.stop();
  });

  test.each([
    ['its link cut (connections reset)', (_away: Host): void => proxy.cut(), (_away: Host): void => proxy.heal()],
    ['its link blackholed (packets held, sockets open)', (_away: Host): void => proxy.blackhole(), (_away: Host): void => proxy.heal()],
    ['frozen (SIGSTOP), then resumed (SIGCONT)', (away: Host): void => void away.child.kill('SIGSTOP'), (away: Host): void => void away.child.kill('SIGCONT')],
  ] as const)('%s for ackWait + 2 s: counted lost once, every input once, and it serves again', async (_, fault, heal) => {
    const pool = `longoutage${process.pid}`; // each test has a server of its own
    // The host that goes away reaches the server through the proxy; the other, and the pool, directly.
    const away = startHost(workerPath('delayedEcho.ts'), proxy.url, pool, ['--threads', '1']);
    const stays = startHost(workerPath('delayedEcho.ts'), server.url, pool, ['--threads', '1']);
    hosts.push(away, stays);
    await Promise.all([away.printed(/serving pool/), stays.printed(/serving pool/)]);
    const errors: LoopPoolError[] = [];
    const pooled = createPool<Echo, number>(workerPath('delayedEcho.ts'), {
      size: 2,
      concurrency: 4,
      retries: 3, // a task that may have started on the lost host is charged one
      transport: nats({ servers: server.url, pool, ackWait }),
      onError: (error) => errors.push(error),
    });
    /** The index of the worker that `host` serves now, or -1. */
    const workerOn = (host: Host): number => pooled.stats().workers.findIndex((worker) => worker?.live === true && worker.host?.endsWith(`:${host.child.pid}`) === true);
    try {
      await pooled.ready;
      const awayIndex = workerOn(away);
      const staysIndex = workerOn(stays);
      expect([awayIndex, staysIndex].sort()).toEqual([0, 1]);

      // The first inputs run through the fault; the others only once the host serves again, so
      // that its late messages come while the run still goes on.
      const inputs = Array.from({ length: 2_000 }, (_, id): Echo => ({ id, ms: 2 }));
      let back!: () => void;
      const served = new Promise<void>((resolve) => (back = resolve));
      let faulted: Promise<void> | undefined;
      let seen = 0;
      const source = concat(from(inputs.slice(0, 1_000)), from(served).pipe(switchMap(() => from(inputs.slice(1_000)))));
      const run = lastValueFrom(
        pooled.process(source, { settle: true }).pipe(
          tap(() => {
            if (++seen !== 300) return;
            faulted = (async () => {
              try {
                fault(away);
                await new Promise((resolve) => setTimeout(resolve, outage));
                heal(away);
                await until(() => workerOn(away) === awayIndex, 30_000);
              } finally {
                back();
              }
            })();
          }),
          toArray(),
        ),
      );
      const out = (await within(run, 45_000, 'the run did not end')) as Array<Settled<Echo, number>>;
      await faulted;
      expect(faulted).toBeDefined();
      expect(out.filter((settled) => settled.status !== 'fulfilled').map((settled) => String(settled.status === 'rejected' ? settled.reason : settled))).toEqual([]);
      expect(out.map((settled) => (settled.status === 'fulfilled' ? settled.value : -1)).sort((a, b) => a - b)).toEqual(inputs.map(({ id }) => id));

      // The loss, once, of the worker that host served, and of nothing else.
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ name: 'WorkerCrashError', reason: 'host lost', workerIndex: awayIndex });
      expect(pooled.stats().workers[staysIndex]!.restarts).toBe(0);
      expect(pooled.stats().workers[awayIndex]!.restarts).toBe(1);
      // Back, the host stopped the worker it had served, and serves its replacement.
      expect(away.output()).toMatch(/stopped worker \d+ of pool/);
      expect(await pooled.run({ id: -1, ms: 1 }, { worker: awayIndex })).toBe(-1);
      expect(pooled.stats().workers[awayIndex]!.host).toMatch(new RegExp(`:${away.child.pid}$`));
      expect(stays.output()).not.toMatch(/stopped worker| ended: /);
    } finally {
      await pooled.terminate();
    }
  }, 60_000);
});

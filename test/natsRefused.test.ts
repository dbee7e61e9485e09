/**
 * A host that refuses a worker (its threads are taken), against a real nats-server: the hub
 * alone knows which host serves which worker, so the refusing host keeps nothing of it. Host
 * A is scripted by the test (it speaks the wire protocol, so that it refuses exactly the
 * first worker it is given); host B is a real `looppool-worker`.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createPool, type LoopPoolError } from 'looppool';
import { nats } from 'looppool/nats';
import { headerLength } from '../dist/nats/links';
import { decode, encode, HostOp, PoolOp, subjects } from '../dist/nats/wire';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { workerPath } from './support/paths';
import { within } from './support/until';

/** A host of the test's own: it announces one thread, refuses the first worker, serves (in words) the second, and can go silent. */
class ScriptedHost {
  readonly id = 'scripted';
  private free = 1;
  private silent = false;
  private readonly timer: NodeJS.Timeout;
  /** Its messages to the pool, numbered from 1 (see src/nats/links.ts: its header is `[id, stream, seq, ackStream, ack]`). */
  private seq = 0;
  /** The wids given to it, in order. */
  readonly given: number[] = [];
  private accepted!: () => void;
  /** Resolves when it has accepted a worker (after refusing one). */
  readonly acceptedOne = new Promise<void>((resolve) => (this.accepted = resolve));

  constructor(
    private readonly nc: NatsConnection,
    private readonly pool: string,
  ) {
    const s = subjects(pool);
    nc.subscribe(s.discover, { callback: () => this.announce() });
    nc.subscribe(s.host(this.id), { callback: (_error, message) => this.received(message.data) });
    this.timer = setInterval(() => this.announce(), 100);
    this.announce();
  }

  /** It stops announcing and answering: the pool will find it lost after `ackWait`. */
  goSilent(): void {
    this.silent = true;
    clearInterval(this.timer);
  }

  private announce(): void {
    if (!this.silent) this.nc.publish(subjects(this.pool).hosts, encode([[this.id, this.free, 1, 'scripted:1']]));
  }

  private received(data: Uint8Array): void {
    if (this.silent) return;
    const batch = decode(data);
    const poolId = batch[0] as string;
    for (let at = headerLength; at + 4 <= batch.length; at += 4) {
      if (batch[at] !== PoolOp.setup) continue;
      const wid = batch[at + 1] as number;
      this.given.push(wid);
      // The first: another pool took the thread first. The second: served (it never runs a task here).
      const answer = this.given.length === 1 ? HostOp.refused : HostOp.ready;
      if (answer === HostOp.ready) this.free = 0;
      this.nc.publish(subjects(this.pool).pool(poolId), encode([this.id, 1, ++this.seq, 0, 0, answer, wid, 0, 0]));
      if (answer === HostOp.ready) this.accepted();
    }
  }
}

describeWithNats('a host that refuses a worker', () => {
  let server: NatsServer;
  let nc: NatsConnection | undefined;
  let host: Host | undefined;
  beforeEach(async () => {
    server = await startNats();
  });
  afterEach(async () => {
    await host?.kill();
    await nc?.close();
    await server.stop();
  });

  test('the worker goes to another host; when the first goes silent, only its own worker is lost, and its free threads were counted right', async () => {
    const pool = `refused${process.pid}`;
    nc = await connect({ servers: server.url });
    const scripted = new ScriptedHost(nc, pool);
    const errors: LoopPoolError[] = [];
    const pooled = createPool(workerPath('echo.ts'), {
      size: 2,
      transport: nats({ servers: server.url, pool, ackWait: 1_000 }),
      onError: (error) => errors.push(error),
    });
    try {
      // Worker 0 is refused; the hub then counts no worker of it against the scripted host, so worker 1 gets its thread.
      await within(scripted.acceptedOne, 10_000, 'the host that refused worker 0 was never given worker 1: its free threads were counted wrong');
      expect(scripted.given).toHaveLength(2);
      host = startHost(workerPath('echo.ts'), server.url, pool, ['--threads', '1']);
      await pooled.ready; // worker 0 is served by the real host
      await host.printed(/serving worker 0 of pool/);
      expect(await pooled.run('before', { worker: 0 })).toBe('before');

      scripted.goSilent();
      const lost = await new Promise<LoopPoolError>((resolve) => {
        const check = setInterval(() => {
          if (errors.length === 0) return;
          clearInterval(check);
          resolve(errors[0]!);
        }, 20);
      });
      await new Promise((resolve) => setImmediate(resolve)); // every loss of that host is reported in one turn
      expect(lost).toMatchObject({ name: 'WorkerCrashError', reason: 'host lost', workerIndex: 1 });
      expect(errors).toHaveLength(1); // worker 0, served by the real host, was not lost with the host that refused it
      expect(await pooled.run('after', { worker: 0 })).toBe('after');
      expect(host.output()).not.toMatch(/stopped worker 0/);
    } finally {
      scripted.goSilent();
      await pooled.terminate();
    }
  });
});

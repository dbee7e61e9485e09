/**
 * A pool whose event loop is blocked for seconds while two hosts stream results to it
 * (issue 21, item 5). The server cuts a subscriber that does not read as a slow consumer: past
 * `max_pending` bytes pending, or when its socket takes nothing for `write_deadline` (64 MB and
 * 10 s by default in nats-server 2.9). Here `write_deadline` is 1 s, so that the test blocks for
 * seconds, not tens of seconds; and `max_pending` 32 MiB: below the 84 MiB each host streams,
 * so that without the window the blocked pool is cut, but above what the two hosts' windows
 * hold (4 MiB each, and as much again when they send it again), so that a pool that reads is
 * not cut (below one window, a pool that falls a piece or two behind two hosts may be cut, and
 * each cut costs a reconnection of up to 2 s). What a host cannot deliver waits at the host,
 * past a window of 4 MiB not yet acknowledged (src/nats/links.ts), and everything in that
 * window is kept until the pool has it: when the server cuts the pool anyway, what it lost is
 * sent again.
 *
 * Before the window, each host sent all its streams at once (84 MiB here), the server cut the
 * pool, and a host no longer had what the pool asked for again (it keeps 64 MiB): the link
 * broke, the workers were lost with `MessagesLostError`, and their replacements flooded the
 * pool again until `maxRestarts` failed the run (measured with the defaults, a 12 s block and
 * streams of 1,500 values of 64 KB: "Slow Consumer Detected: WriteDeadline of 10s exceeded").
 *
 * A host stopped gracefully (SIGTERM) meanwhile waits, before it exits, until the pool has all
 * it sent: it used to send at once what waited for the window, and exit.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, map, tap, toArray } from 'rxjs';
import { createPool, type LoopPoolError, type Settled } from 'looppool';
import { nats } from 'looppool/nats';
import { describeWithNats, startHost, type Host } from './support/nats';
import { startRestartableNats, type RestartableNats } from './support/natsServer';
import { workerPath } from './support/paths';
import { within } from './support/until';
import { flooded, type FloodTask } from './workers/flood';

const MiB = 1024 * 1024;
/** Values per stream, and their size: 3 streams per host of 28 MiB each, past the 64 MiB a host keeps for a pool. */
const count = 14;
const bytes = 2 * MiB;
/** How long (ms) the pool's loop stays blocked once the hosts' threads have yielded everything: past the server's `write_deadline`. */
const blockAfterYielded = 2_000;

/** Blocks this thread's loop (no timer, no I/O callback runs) until `done()` holds or `ms` ms have passed, then `after` ms more. */
function blockLoop(done: () => boolean, ms: number, after: number): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) Atomics.wait(sleeper, 0, 0, 20);
  Atomics.wait(sleeper, 0, 0, after);
}

/** What a value says: `<id>:<i>`, or what is wrong with it. */
function said(result: string | Settled<FloodTask, string>): string {
  const value = typeof result === 'string' ? result : result.status === 'fulfilled' ? result.value : `rejected: ${String(result.reason)}`;
  const [id, i] = value.split(':', 2);
  return value === flooded(id!, Number(i), bytes) ? `${id}:${i}` : `malformed: ${value.slice(0, 80)}`;
}

describeWithNats('nats transport: a pool whose loop is blocked for seconds while hosts stream to it', () => {
  let server: RestartableNats;
  let dir: string;
  const hosts: Host[] = [];

  beforeEach(async () => {
    server = await startRestartableNats({ maxPending: 32 * MiB, writeDeadline: '1s' });
    dir = mkdtempSync(join(tmpdir(), 'looppool-flood-'));
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.kill()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('loses nothing: every value once and in its order, in unordered, ordered and settle mode at once, and the run ends', async () => {
    const pool = `flood${process.pid}`;
    const floodWorker = workerPath('flood.ts');
    hosts.push(startHost(floodWorker, server.url, pool, ['--threads', '1']), startHost(floodWorker, server.url, pool, ['--threads', '1']));
    await Promise.all(hosts.map((host) => host.printed(/serving pool/)));
    // ackWait past the block: a pool silent for ackWait is given up by its hosts, whatever the reason.
    const pooled = createPool<FloodTask, string>(floodWorker, {
      size: 2,
      concurrency: 3,
      retries: 0,
      transport: nats({ servers: server.url, pool, ackWait: 20_000 }),
    });
    const errors: LoopPoolError[] = [];
    const watched = pooled.errors$.subscribe((error) => errors.push(error));
    try {
      await pooled.ready;
      const modes = { unordered: {}, ordered: { ordered: true }, settle: { settle: true } } as const;
      const tasks = (mode: string): FloodTask[] => [0, 1].map((n) => ({ id: `${mode}${n}`, count, bytes, done: join(dir, `${mode}${n}`) }));
      const everyDone = Object.keys(modes).flatMap((mode) => tasks(mode).map((task) => task.done));
      let blocked = false;
      const block = (): void => {
        if (blocked) return;
        blocked = true;
        // The first value is in: the loop stops until every thread has yielded its whole stream, and the server's write_deadline passed.
        blockLoop(() => everyDone.every((file) => existsSync(file)), 15_000, blockAfterYielded);
      };
      const runs = Object.entries(modes).map(([mode, options]) =>
        lastValueFrom(pooled.process(from(tasks(mode)), options).pipe(tap(block), map(said), toArray())),
      );
      const outs = await within(Promise.all(runs), 50_000, 'the run did not end');
      Object.keys(modes).forEach((mode, at) => {
        const out = outs[at]!;
        const expected = tasks(mode).flatMap(({ id }) => Array.from({ length: count }, (_, i) => `${id}:${i}`));
        if (mode === 'ordered') expect(out).toEqual(expected);
        else {
          // Each task's values in their order; the two tasks' interleaved.
          for (const { id } of tasks(mode)) expect(out.filter((value) => value.startsWith(`${id}:`))).toEqual(expected.filter((value) => value.startsWith(`${id}:`)));
          expect(out).toHaveLength(expected.length);
        }
      });
      expect(blocked).toBe(true);
      expect(errors.map(String)).toEqual([]);
      expect(pooled.stats().workers.map((worker) => worker.restarts)).toEqual([0, 0]);
      for (const host of hosts) expect(host.output()).not.toMatch(/stopped worker| ended: /);
    } finally {
      watched.unsubscribe();
      await pooled.terminate();
    }
  }, 90_000);

  test('a host SIGTERMed while its results wait for the blocked pool waits for the pool before it exits: every value once, none failed', async () => {
    // A draining host used to send at once all that waited for the pool's window (about 80 MiB
    // here, past max_pending) and exit: the server cuts the pool, what it lost cannot be sent
    // again, and the tasks whose values had partly arrived fail once the host counts as lost
    // (read from the code: this test was written while the machine could not run it).
    const pool = `floodterm${process.pid}`;
    const floodWorker = workerPath('flood.ts');
    const host = startHost(floodWorker, server.url, pool, ['--threads', '1']);
    hosts.push(host);
    await host.printed(/serving pool/);
    const pooled = createPool<FloodTask, string>(floodWorker, {
      size: 1,
      concurrency: 3,
      retries: 0,
      transport: nats({ servers: server.url, pool, ackWait: 20_000 }),
    });
    const errors: LoopPoolError[] = [];
    const watched = pooled.errors$.subscribe((error) => errors.push(error));
    try {
      await pooled.ready;
      const tasks = [0, 1, 2].map((n): FloodTask => ({ id: `term${n}`, count, bytes, done: join(dir, `term${n}`) }));
      let blocked = false;
      const block = (): void => {
        if (blocked) return;
        blocked = true;
        // The first value is in: once the thread has yielded every stream, the host is stopped, and the loop stays blocked meanwhile.
        blockLoop(() => tasks.every(({ done }) => existsSync(done)), 15_000, 0);
        host.child.kill('SIGTERM');
        blockLoop(() => false, 2 * blockAfterYielded, 0);
      };
      const run = lastValueFrom(pooled.process(from(tasks), { settle: true }).pipe(tap(block), map(said), toArray()));
      const out = await within(run, 50_000, 'the run did not end');
      expect(out.filter((value) => !/^term\d:/.test(value))).toEqual([]); // nothing rejected or malformed
      for (const { id } of tasks) expect(out.filter((value) => value.startsWith(`${id}:`))).toEqual(Array.from({ length: count }, (_, i) => `${id}:${i}`));
      expect(blocked).toBe(true);
      expect(await host.exited).toBe(0);
      expect(host.output()).toMatch(/stopping: finishing what runs/);
      expect(host.output()).not.toMatch(/not heard from|were lost/);
      // A fixed pool reports the end of a worker whose host stopped as a crash, and replaces it: nothing else.
      for (const error of errors) expect(error.message).toMatch(/was lost with its host/);
    } finally {
      watched.unsubscribe();
      await pooled.terminate();
    }
  }, 90_000);
});

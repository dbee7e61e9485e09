/**
 * An elastic pool (`size: { min, max }`) across hosts, against a real nats-server and real
 * `looppool-worker` hosts of two threads each: it grows as hosts offer threads, uses a host
 * that joins while tasks wait, never waits for a worker no host serves, and gives its idle
 * workers back to their hosts. The tasks are those of test/elastic.test.ts (`meet` holds until
 * the pool has grown).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, type LoopPool } from 'looppool';
import { nats } from 'looppool/nats';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { workerPath } from './support/paths';
import { until, within } from './support/until';
import type { ElasticResult, ElasticTask } from './workers/elastic';

const elastic = workerPath('elastic.ts');

describeWithNats('an elastic pool across hosts', () => {
  let server: NatsServer;
  const hosts: Host[] = [];
  const pools: Array<LoopPool<ElasticTask, ElasticResult>> = [];
  const name = `elastic${process.pid}`;
  const hostOf = (): Host => {
    const host = startHost(elastic, server.url, name, ['--threads', '2']);
    hosts.push(host);
    return host;
  };
  const pool = (size: number | { min: number; max: number }, idleTimeout = 500): LoopPool<ElasticTask, ElasticResult> => {
    const made = createPool<ElasticTask, ElasticResult>(elastic, { size, queueSize: 0, idleTimeout, transport: nats({ servers: server.url, pool: name }) });
    pools.push(made);
    return made;
  };

  beforeAll(async () => {
    server = await startNats();
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((made) => made.terminate()));
    await Promise.all(hosts.splice(0).map((host) => host.kill()));
  });
  afterAll(async () => {
    await server.stop();
  });

  it('grows while hosts have free threads, uses a host that joins while tasks wait, and gives idle workers back', async () => {
    const first = hostOf();
    await first.printed(/serving pool/, 15_000);
    const grown = pool({ min: 1, max: 4 });
    await within(grown.ready, 15_000, 'the min worker was never served');
    const dir = mkdtempSync(join(tmpdir(), 'looppool-meet-'));
    try {
      // Four tasks that end only once four workers hold one each: two hosts' worth.
      const runs = Promise.all([0, 1, 2, 3].map(() => grown.run({ kind: 'meet', dir, workers: 4 })));
      await first.printed(/serving worker[^]*serving worker/, 15_000); // the first host's two threads are taken
      // The two others wait for a host: counted in size, listed not live and with no host.
      await until(() => grown.stats().workers.filter((worker) => !worker.live && worker.host === undefined).length === 2, 10_000);
      expect(grown.stats().size).toBe(4);
      const second = hostOf(); // joins while two tasks wait
      const results = await within(runs, 30_000, 'the pool did not use the host that joined');
      expect(new Set(results.map((result) => result.worker))).toEqual(new Set([0, 1, 2, 3]));
      expect(new Set(results.map((result) => result.pid)).size).toBe(2); // both hosts
      expect(second.output()).toMatch(/serving worker/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Idle workers stop after idleTimeout, down to min; their hosts' threads are free again.
    await until(() => grown.stats().size === 1, 15_000);
    const fixed = pool(3);
    await within(fixed.ready, 15_000, 'the threads the elastic pool gave back were not free');
  }, 40_000);

  it('a host that stops gracefully (SIGTERM) takes its workers away: no task lost, no error, no restart; the pool goes on with fewer', async () => {
    const [stays, leaves] = [hostOf(), hostOf()];
    await Promise.all([stays, leaves].map((host) => host.printed(/serving pool/, 15_000)));
    const elasticPool = pool({ min: 0, max: 4 }, 30_000);
    const errors: unknown[] = [];
    elasticPool.errors$.subscribe((error) => errors.push(error));
    const dir = mkdtempSync(join(tmpdir(), 'looppool-meet-'));
    try {
      const met = await within(Promise.all([0, 1, 2, 3].map(() => elasticPool.run({ kind: 'meet', dir, workers: 4 }))), 30_000, 'the pool did not grow to four');
      expect(new Set(met.map((result) => result.pid))).toEqual(new Set([stays.child.pid, leaves.child.pid]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const during = Promise.all(Array.from({ length: 8 }, () => elasticPool.run({ kind: 'who', ms: 200 })));
    leaves.child.kill('SIGTERM');
    expect(await leaves.exited).toBe(0);
    expect(await within(during, 20_000, 'tasks running while the host stopped did not end')).toHaveLength(8);
    await until(() => elasticPool.stats().size === 2, 15_000);
    const after = await within(Promise.all(Array.from({ length: 8 }, () => elasticPool.run({ kind: 'who', ms: 20 }))), 20_000, 'the pool did not go on');
    expect(new Set(after.map((result) => result.pid))).toEqual(new Set([stays.child.pid]));
    expect(errors).toEqual([]);
    expect(elasticPool.stats().workers.map((worker) => worker.restarts)).toEqual([0, 0]);
  }, 40_000);

  it('never waits for a worker no host serves: one free thread runs every task, the pool goes to zero and grows again', async () => {
    const host = hostOf();
    await host.printed(/serving pool/, 15_000);
    const blocker = pool(1); // takes one of the host's two threads
    await within(blocker.ready, 15_000, 'the host did not serve the first pool');
    const elasticPool = pool({ min: 0, max: 4 }, 300);
    const results = await within(
      Promise.all(Array.from({ length: 8 }, () => elasticPool.run({ kind: 'who', ms: 20 }))),
      20_000,
      'tasks waited for workers no host serves',
    );
    expect(new Set(results.map((result) => `${result.pid}:${result.threadId}`)).size).toBe(1); // the one thread on offer ran them all
    // The workers no host served stop once nothing waits; the served one after idleTimeout.
    await until(() => elasticPool.stats().size === 0, 15_000);
    // The host served two workers: the first pool's, and the one of this pool that ran the tasks.
    expect(host.output().match(/serving worker/g)).toHaveLength(2);
    await blocker.terminate();
    const again = await within(elasticPool.run({ kind: 'who' }), 15_000, 'the pool did not grow again from zero');
    expect(again.worker).toBe(0);
  }, 40_000);
});

/**
 * `npm run bench:cluster`: the NATS transport (`looppool/nats`) against local threads, in one
 * run on this machine. A nats-server on a free loopback port, `looppool-worker` hosts of one
 * thread each; for 1 and 2 hosts (and 1 and 2 local threads): tiny tasks/s and 5 ms CPU
 * tasks/s; the round trip of one task at a time (p50/p99); then a host SIGKILLed mid-run: the
 * time until the loss is noticed and until every input has ended, and how many results came
 * twice or never. Needs `nats-server` on PATH (apt-get install -y nats-server).
 */
import { join } from 'node:path';
import { lastValueFrom, range, map, tap, toArray } from 'rxjs';
import { createPool, loopPool, type PoolOptions } from 'looppool';
import { nats } from 'looppool/nats';
import { natsInstalled, startHost, startNats, type Host, type NatsServer } from '../test/support/nats';

const worker = join(__dirname, 'cluster.worker.js');
const tiny = Number(process.env['BENCH_TINY'] ?? 200_000);
const cpu = Number(process.env['BENCH_CPU'] ?? 400);
/** Deep per-worker queues: across a network, a worker needs tasks waiting to stay busy. */
const deep = { concurrency: 1, queueSize: 2_048 };

type Task = { id: number; spin?: number };
let pools = 0;

async function hosts(server: NatsServer, pool: string, count: number): Promise<Host[]> {
  const started = Array.from({ length: count }, () => startHost(worker, server.url, pool, ['--threads', '1']));
  await Promise.all(started.map((host) => host.printed(/serving pool/)));
  return started;
}

/**
 * Tasks/s through a pool whose workers are all ready: with deep queues, the first worker to be
 * ready would otherwise take the first `concurrency + queueSize` tasks alone.
 */
async function throughput(options: PoolOptions, tasks: number, spin: number | undefined): Promise<number> {
  const pooled = createPool<Task, number>(worker, options);
  await pooled.ready;
  const started = performance.now();
  const results = await lastValueFrom(pooled.process(range(0, tasks).pipe(map((id): Task => (spin ? { id, spin } : { id })))).pipe(toArray()));
  const rate = tasks / ((performance.now() - started) / 1000);
  await pooled.terminate();
  if (results.length !== tasks) throw new Error(`expected ${tasks} results, got ${results.length}`);
  return rate;
}

async function roundTrip(server: NatsServer, pool: string): Promise<{ p50: number; p99: number }> {
  const pooled = createPool<Task, number>(worker, { size: 1, transport: nats({ servers: server.url, pool }) });
  await pooled.ready;
  const times: number[] = [];
  for (let id = 0; id < 3_000; id++) {
    const started = performance.now();
    await pooled.run({ id });
    if (id >= 500) times.push(performance.now() - started); // after the warm-up
  }
  await pooled.terminate();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)]!, p99: times[Math.floor(times.length * 0.99)]! };
}

/** 1,000,000 records pulled through 2 hosts with `pool.process`: the producer's heap and RSS along the way. */
async function memory(server: NatsServer, pool: string, items: number): Promise<string[]> {
  const pooled = createPool<Task, number>(worker, { size: 2, ...deep, transport: nats({ servers: server.url, pool }) });
  await pooled.ready;
  const samples: string[] = [];
  let done = 0;
  const started = performance.now();
  function* records(): Generator<Task> {
    for (let id = 0; id < items; id++) yield { id };
  }
  await lastValueFrom(
    pooled.process(records()).pipe(
      tap(() => {
        if (++done % (items / 5) === 0) {
          const { heapUsed, rss } = process.memoryUsage();
          samples.push(`${done / 1000}k: heap ${(heapUsed / 2 ** 20).toFixed(0)} MiB, rss ${(rss / 2 ** 20).toFixed(0)} MiB`);
        }
      }),
    ),
  );
  samples.push(`${items} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await pooled.terminate();
  return samples;
}

async function kill(server: NatsServer, started: Host[]): Promise<Record<string, number>> {
  const pool = `bench-kill-${++pools}`;
  const both = await hosts(server, pool, 2);
  started.push(...both); // the survivor is stopped with the others
  const [victim] = both;
  const count = 4_000;
  const seen = new Map<number, number>();
  let killedAt = 0;
  let noticedAt = 0;
  await lastValueFrom(
    range(0, count).pipe(
      map((id): Task => ({ id, spin: 1 })),
      loopPool<Task, number>(worker, {
        size: 2,
        concurrency: 1,
        queueSize: 16,
        transport: nats({ servers: server.url, pool }),
        onError: () => (noticedAt ||= performance.now()),
      }),
      tap((id) => {
        seen.set(id, (seen.get(id) ?? 0) + 1);
        if (seen.size === count / 4 && !killedAt) {
          killedAt = performance.now();
          victim!.child.kill('SIGKILL');
        }
      }),
      toArray(),
    ),
  );
  const endedAt = performance.now();
  let duplicated = 0;
  for (const times of seen.values()) if (times > 1) duplicated += times - 1;
  return {
    noticedMs: Math.round(noticedAt - killedAt),
    allEndedMs: Math.round(endedAt - killedAt),
    duplicated,
    lost: count - seen.size,
  };
}

async function main(): Promise<void> {
  if (!natsInstalled) {
    console.log('bench:cluster needs nats-server: apt-get install -y nats-server');
    process.exit(1);
  }
  const server = await startNats();
  const started: Host[] = [];
  try {
    console.log(`node ${process.version}; ${tiny} tiny tasks, ${cpu} tasks of 5 ms CPU; hosts of 1 thread; queueSize ${deep.queueSize}`);
    for (const count of [1, 2]) {
      const local = { size: count, ...deep };
      const pool = `bench-${++pools}`;
      started.push(...(await hosts(server, pool, count)));
      const remote = { ...local, transport: nats({ servers: server.url, pool }) };
      const rows = {
        'local tiny/s': await throughput(local, tiny, undefined),
        'nats tiny/s': await throughput(remote, tiny, undefined),
        // Every option at its default but the size: the queue adapts (issue 25).
        'nats tiny/s with defaults': await throughput({ size: count, transport: remote.transport }, tiny, undefined),
        'local 5ms/s': await throughput(local, cpu, 5),
        'nats 5ms/s': await throughput(remote, cpu, 5),
      };
      console.log(`${count} worker(s): ${Object.entries(rows).map(([name, value]) => `${name} ${Math.round(value)}`).join(', ')}`);
      const defaults = rows['nats tiny/s with defaults'] / rows['nats tiny/s'];
      console.log(`  tiny tasks over NATS with defaults: ${defaults.toFixed(3)} of queueSize ${deep.queueSize} (goal ≥ 0.5: ${defaults >= 0.5 ? 'met' : 'not met'})`);
      await Promise.all(started.splice(0).map((host) => host.kill()));
    }
    const pool = `bench-rt-${++pools}`;
    started.push(...(await hosts(server, pool, 1)));
    const rt = await roundTrip(server, pool);
    console.log(`round trip, one task at a time: p50 ${rt.p50.toFixed(3)} ms, p99 ${rt.p99.toFixed(3)} ms`);
    await Promise.all(started.splice(0).map((host) => host.kill()));
    const memoryPool = `bench-mem-${++pools}`;
    started.push(...(await hosts(server, memoryPool, 2)));
    const items = Number(process.env['BENCH_PULL'] ?? 1_000_000);
    console.log(`pool.process of ${items} pulled records through 2 hosts, the producer's memory: ${(await memory(server, memoryPool, items)).join('; ')}`);
    await Promise.all(started.splice(0).map((host) => host.kill()));
    const killed = await kill(server, started);
    console.log(
      `SIGKILL of 1 of 2 hosts at 25% of 4,000 tasks of 1 ms: loss noticed after ${killed['noticedMs']} ms, ` +
        `every input ended ${killed['allEndedMs']} ms after the kill; duplicated ${killed['duplicated']}, lost ${killed['lost']}`,
    );
  } finally {
    await Promise.all(started.map((host) => host.kill()));
    await server.stop();
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

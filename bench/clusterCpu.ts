/**
 * `npm run bench:cluster-cpu`: where the CPU goes when tiny tasks cross one `looppool-worker`
 * host of one thread, a figure that a shared machine's load moves far less than tasks/s. A
 * nats-server on a free loopback port and one host; `BENCH_ROUNDS` rounds (default 5) of
 * `BENCH_TINY` tiny tasks (default 200,000), each on one local thread and then through the host
 * (`queueSize` 2,048, as `bench:cluster`), each round a new pool. For each NATS round: tasks/s
 * and its ratio to the local round just before, and the CPU (ms, from /proc, so Linux only) of
 * the producer's main thread and of its other threads (garbage collection, compilation), of the
 * host's main thread and of the whole host (its worker thread too), and of nats-server. The
 * first round warms the host's code and is left out of the medians printed last.
 *
 *   BENCH_ROUNDS=7 npm run bench:cluster-cpu
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, map, range, toArray } from 'rxjs';
import { createPool, type PoolOptions } from 'looppool';
import { nats } from 'looppool/nats';
import { natsInstalled, startHost, startNats } from '../test/support/nats';

const worker = join(__dirname, 'cluster.worker.js');
const tiny = Number(process.env['BENCH_TINY'] ?? 200_000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const deep = { size: 1, concurrency: 1, queueSize: 2_048 };

/** CPU ms (user + system) of thread `tid` of process `pid`, or of the whole process without `tid`. */
function cpuMs(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 1/100 s
}

/** The nats-server this process started. */
function serverPid(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.includes('(nats-server)') && stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(process.pid)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('nats-server not found among this process’s children');
}

async function tasksPerSecond(options: PoolOptions): Promise<number> {
  const pooled = createPool<{ id: number }, number>(worker, options);
  await pooled.ready;
  const started = performance.now();
  const results = await lastValueFrom(pooled.process(range(0, tiny).pipe(map((id) => ({ id })))).pipe(toArray()));
  const rate = tiny / ((performance.now() - started) / 1000);
  await pooled.terminate();
  if (results.length !== tiny) throw new Error(`expected ${tiny} results, got ${results.length}`);
  return rate;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  if (!natsInstalled) {
    console.log('bench:cluster-cpu needs nats-server: apt-get install -y nats-server');
    process.exit(1);
  }
  const server = await startNats();
  const host = startHost(worker, server.url, 'bench-cpu', ['--threads', '1']);
  try {
    await host.printed(/serving pool/);
    const hostPid = host.child.pid!;
    const natsPid = serverPid();
    const transport = nats({ servers: server.url, pool: 'bench-cpu' });
    console.log(`node ${process.version}; ${tiny} tiny tasks a round through one host of 1 thread, queueSize ${deep.queueSize}; CPU in ms per round`);
    const kept: number[][] = [];
    for (let round = 1; round <= rounds; round++) {
      const local = await tasksPerSecond(deep);
      const before = [cpuMs(process.pid, process.pid), cpuMs(process.pid), cpuMs(hostPid, hostPid), cpuMs(hostPid), cpuMs(natsPid)];
      const remote = await tasksPerSecond({ ...deep, transport });
      const after = [cpuMs(process.pid, process.pid), cpuMs(process.pid), cpuMs(hostPid, hostPid), cpuMs(hostPid), cpuMs(natsPid)];
      const [poolMain, pool, hostMain, hostAll, natsServer] = after.map((value, i) => Math.round(value - before[i]!)) as [number, number, number, number, number];
      const row = [remote, remote / local, poolMain, pool - poolMain, hostMain, hostAll, natsServer];
      if (round > 1) kept.push(row);
      console.log(
        `round ${round}${round === 1 ? ' (warm-up)' : ''}: nats tiny/s ${Math.round(remote)} (${(remote / local).toFixed(3)} of local threads, ${Math.round(local)}/s); ` +
          `CPU ms: producer main ${poolMain}, producer other threads ${pool - poolMain}, host main ${hostMain}, host in all ${hostAll}, nats-server ${natsServer}`,
      );
    }
    if (kept.length > 0) {
      const column = (i: number): number => median(kept.map((row) => row[i]!));
      console.log(
        `median of rounds 2-${rounds}: nats tiny/s ${Math.round(column(0))} (${column(1).toFixed(3)} of local threads); ` +
          `CPU ms: producer main ${column(2)}, producer other threads ${column(3)}, host main ${column(4)}, host in all ${column(5)}, nats-server ${column(6)}`,
      );
    }
  } finally {
    await host.kill();
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

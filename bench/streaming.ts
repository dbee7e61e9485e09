/**
 * The streaming scenario of `npm run bench` (also `npm run bench:streaming`): one task yields
 * 1,000,000 small values (numbers, from an async generator) through `pool.process` to a
 * subscriber that counts them, on one worker thread, on one worker process and, with
 * `nats-server` on PATH, on one `looppool-worker` host (a nats-server on a free loopback port
 * and the host are started here and stopped at the end). Each is run paced (the default
 * `streamWindow`) and unpaced (`streamWindow: Infinity`, streaming as it was before credits),
 * all in alternation in the same process, `BENCH_ROUNDS` rounds (default 5); the table gives
 * the median values/s of each and their ratio.
 *
 * `npm run bench:streaming -- 200000` streams fewer values; `BENCH_STREAM_WINDOWS=1024,4096`
 * runs each of those windows paced (default: 4096, the default window).
 */
import { join } from 'node:path';
import { count, lastValueFrom } from 'rxjs';
import { createPool, type LoopPool, type PoolOptions } from 'looppool';
import { nats } from 'looppool/nats';
import { natsInstalled, startHost, startNats, type Host, type NatsServer } from '../test/support/nats';

const values = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const worker = join(__dirname, 'streaming.worker.js');
const windows = (process.env.BENCH_STREAM_WINDOWS ?? '4096').split(',').map(Number);

/** Where the task runs. */
type Workers = 'thread' | 'process' | 'host';

interface Contender {
  readonly workers: Workers;
  /** `streamWindow`; Infinity: unpaced. */
  readonly window: number;
  readonly pool: LoopPool<number, number>;
  readonly rates: number[];
  /** Why a run failed (unpaced over NATS, a flood can lose the host): it runs no more. */
  failed?: string;
}

/** Runs `contender` once and keeps its rate, or why it failed. */
async function measure(contender: Contender): Promise<void> {
  if (contender.failed !== undefined) return;
  try {
    contender.rates.push(await run(contender.pool));
  } catch (error) {
    contender.failed = error instanceof Error ? error.message : String(error);
  }
}

/** Values per second of one run of the task. */
async function run(pool: LoopPool<number, number>): Promise<number> {
  const started = performance.now();
  const received = await lastValueFrom(pool.process([values]).pipe(count()));
  if (received !== values) throw new Error(`expected ${values} values, got ${received}`);
  return values / ((performance.now() - started) / 1000);
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const figure = (x: number): string => Math.round(x).toLocaleString('en');

async function main(): Promise<void> {
  const kinds: Workers[] = ['thread', 'process'];
  let server: NatsServer | undefined;
  let host: Host | undefined;
  const poolName = `bench-streaming-${process.pid}`;
  if (natsInstalled) {
    server = await startNats();
    // One thread per pool: the paced and the unpaced pools are served side by side.
    host = startHost(worker, server.url, poolName, ['--threads', String(windows.length + 1)]);
    await host.printed(/serving pool/);
    kinds.push('host');
  } else console.log('no nats-server: the host rows are left out (apt-get install -y nats-server)\n');
  const where = (workers: Workers): PoolOptions =>
    workers === 'host' ? { transport: nats({ servers: server!.url, pool: poolName }) } : { workerType: workers };
  const contenders: Contender[] = [];
  for (const workers of kinds) {
    for (const window of [...windows, Infinity]) {
      const pool = createPool<number, number>(worker, { size: 1, ...where(workers), streamWindow: window });
      await pool.ready;
      const contender: Contender = { workers, window, pool, rates: [] };
      await measure(contender); // warm-up
      contender.rates.pop();
      contenders.push(contender);
    }
  }
  for (let round = 0; round < rounds; round++) for (const contender of contenders) await measure(contender);
  await Promise.all(contenders.map((contender) => contender.pool.stop()));
  await host?.kill();
  await server?.stop();
  const lines = [
    `### Streaming: one task yields ${values.toLocaleString('en')} small values`,
    '',
    '| workers | `streamWindow` | values/s (median) | vs unpaced |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const workers of kinds) {
    const baseline = contenders.find((c) => c.workers === workers && c.window === Infinity)!;
    const unpaced = baseline.failed === undefined ? median(baseline.rates) : NaN;
    for (const contender of contenders.filter((c) => c.workers === workers)) {
      const window = contender.window === Infinity ? 'Infinity (unpaced)' : contender.window.toLocaleString('en');
      const where = workers === 'host' ? 'host (NATS)' : workers;
      if (contender.failed !== undefined) {
        lines.push(`| ${where} | ${window} | failed after ${contender.rates.length} runs: ${contender.failed} | |`);
        continue;
      }
      const rate = median(contender.rates);
      lines.push(`| ${where} | ${window} | ${figure(rate)} | ${Number.isNaN(unpaced) ? 'unpaced failed' : `${(rate / unpaced).toFixed(3)}×`} |`);
    }
  }
  console.log([...lines, ''].join('\n'));
}

void main();

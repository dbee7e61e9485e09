/**
 * The streaming scenario of `npm run bench` (also `npm run bench:streaming`): one task yields
 * 1,000,000 small values (numbers, from an async generator) through `pool.process` to a
 * subscriber that counts them, on one worker thread, on one worker process and, with
 * `nats-server` on PATH, on one `looppool-worker` host (a nats-server on a free loopback port
 * and the host are started here and stopped at the end). Each is run paced (the default
 * `streamWindow`) and unpaced (`streamWindow: Infinity`, streaming as it was before credits).
 *
 * Each pool runs `BENCH_WARMUP` runs first (default 3: a worker's JIT takes a few runs of a
 * million values to settle, and the paced path has more code to warm), then `BENCH_ROUNDS`
 * rounds (default 9). In a round, each transport's paced and unpaced pools run back to back,
 * in an order that flips every round, so a ratio compares runs seconds apart on the same
 * machine load. The table gives the median values/s of each, the median of the rounds' own
 * ratios, and the ratio of the first (cold) run of each pool.
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
const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const warmups = Number(process.env.BENCH_WARMUP ?? 3);
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
  /** The rate of the pool's first run, before any warm-up. */
  cold?: number;
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
      contenders.push({ workers, window, pool, rates: [] });
    }
  }
  // Round r runs each transport's pools back to back, forwards when r is even, backwards when odd.
  const runRound = async (r: number): Promise<void> => {
    for (const workers of kinds) {
      const mine = contenders.filter((c) => c.workers === workers);
      for (const contender of r % 2 === 0 ? mine : mine.reverse()) await measure(contender);
    }
  };
  for (let r = 0; r < warmups; r++) await runRound(r);
  for (const contender of contenders) {
    contender.cold = contender.rates[0];
    contender.rates.length = 0;
  }
  for (let r = 0; r < rounds; r++) await runRound(warmups + r);
  await Promise.all(contenders.map((contender) => contender.pool.stop()));
  await host?.kill();
  await server?.stop();
  const lines = [
    `### Streaming: one task yields ${values.toLocaleString('en')} small values`,
    '',
    `${warmups} warm-up runs per pool, then ${rounds} rounds; a ratio is the median of the rounds' own ratios.`,
    '',
    '| workers | `streamWindow` | values/s (median) | vs unpaced | cold run vs unpaced |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const workers of kinds) {
    const unpaced = contenders.find((c) => c.workers === workers && c.window === Infinity)!;
    for (const contender of contenders.filter((c) => c.workers === workers)) {
      const window = contender.window === Infinity ? 'Infinity (unpaced)' : contender.window.toLocaleString('en');
      const where = workers === 'host' ? 'host (NATS)' : workers;
      if (contender.failed !== undefined) {
        lines.push(`| ${where} | ${window} | failed after ${contender.rates.length} runs: ${contender.failed} | | |`);
        continue;
      }
      const paired = unpaced.failed === undefined && unpaced.rates.length === contender.rates.length;
      const ratio = paired ? `${median(contender.rates.map((rate, r) => rate / unpaced.rates[r]!)).toFixed(3)}×` : 'unpaced failed';
      const cold = contender.cold !== undefined && unpaced.cold !== undefined ? `${(contender.cold / unpaced.cold).toFixed(3)}×` : '';
      lines.push(`| ${where} | ${window} | ${figure(median(contender.rates))} | ${ratio} | ${cold} |`);
    }
  }
  console.log([...lines, ''].join('\n'));
}

void main();

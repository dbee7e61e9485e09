import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createPool, type InspectStats, type LoopPool, type LoopPoolOptions } from 'looppool';
import { nats } from 'looppool/nats';
import type { FaultTask } from './workers/faulty';
import { describeWithNats, startHost, startNats, type Host, type NatsServer } from './support/nats';
import { workerPath } from './support/paths';
import { tally } from './support/tally';
import { until } from './support/until';

const faulty = workerPath('faulty.ts');
const cli = join(__dirname, '..', 'dist', 'cli', 'main.js');
const { NODE_OPTIONS: _, ...plainEnv } = process.env; // the CLI is plain JavaScript: no loader
const tmuxInstalled = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;

/** A pool of two workers kept busy: tasks of 20 ms, two at a time, their results consumed. */
async function busyPool(
  options: { inspect: true | { port: number } } & Pick<LoopPoolOptions, 'transport' | 'workerData'>,
): Promise<{ pool: LoopPool<FaultTask, number>; stop(): Promise<void> }> {
  const pool = createPool<FaultTask, number>(faulty, { name: 'etl', size: 2, statsInterval: 200, workerData: tally('thread', 64), ...options });
  pool.results$.subscribe();
  await pool.ready;
  let feeding = true;
  const feeders = [0, 1].map(async (feeder) => {
    for (let id = feeder; feeding; id += 2) await pool.put({ id, fault: 'sleep', ms: 20 }).catch(() => {});
  });
  return {
    pool,
    stop: async () => {
      feeding = false;
      await Promise.all(feeders);
      await pool.terminate();
    },
  };
}

const get = async (url: string): Promise<{ status: number; type: string | null; body: string }> => {
  const response = await fetch(url, { headers: { connection: 'close' } });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
};

describe('the inspect option', () => {
  let running: { pool: LoopPool<FaultTask, number>; stop(): Promise<void> } | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('serves /stats as JSON and /metrics as Prometheus text on 127.0.0.1, until the pool stops', async () => {
    running = await busyPool({ inspect: true });
    const url = (await running.pool.inspectUrl)!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await running.pool.put({ id: -1, fault: 'throw' }).catch(() => {});
    const stats = await get(`${url}/stats`);
    expect(stats).toMatchObject({ status: 200, type: 'application/json' });
    const body = JSON.parse(stats.body) as InspectStats;
    expect(body).toMatchObject({ name: 'etl', size: 2, errors: { lastMinute: 1, last: { name: 'TaskError' } } });
    expect(body.workers.map((w) => [w.name, w.live, w.host])).toEqual([
      ['etl#0', true, undefined],
      ['etl#1', true, undefined],
    ]);
    const metrics = await get(`${url}/metrics`);
    expect(metrics).toMatchObject({ status: 200, type: 'text/plain; version=0.0.4; charset=utf-8' });
    expect(metrics.body).toContain('# TYPE looppool_tasks_total counter\n');
    expect(metrics.body).toMatch(/^looppool_tasks_total\{pool="etl",worker="etl#0",outcome="failed"\} [01]$/m);
    expect(metrics.body).toContain('looppool_workers{pool="etl"} 2\n');
    expect(metrics.body).toMatch(/^looppool_task_duration_seconds_count\{pool="etl"\} \d+$/m);
    expect(await get(`${url}/nothing`)).toMatchObject({ status: 404 });
    await running.stop();
    running = undefined;
    await expect(fetch(`${url}/stats`)).rejects.toThrow();
  });

  it('listens on the port given, and without the option serves nothing', async () => {
    const plain = createPool<FaultTask, number>(faulty, { size: 1, workerData: tally('thread', 64) });
    await expect(plain.inspectUrl).resolves.toBeUndefined();
    await plain.terminate();
    running = await busyPool({ inspect: true });
    const port = Number(new URL((await running.pool.inspectUrl)!).port);
    await running.stop(); // frees the port it had
    running = await busyPool({ inspect: { port } });
    await expect(running.pool.inspectUrl).resolves.toBe(`http://127.0.0.1:${port}`);
  });

  it('rejects a bad inspect option at once', () => {
    expect(() => createPool(faulty, { inspect: 'yes' as never })).toThrow(
      new TypeError('Expected `inspect` to be a boolean or { port, host }, got "yes" (string)'),
    );
    expect(() => createPool(faulty, { inspect: { port: 70000 } })).toThrow(
      new RangeError('Expected `inspect.port` to be an integer from 0 to 65535, got 70000 (number)'),
    );
    expect(() => createPool(faulty, { inspect: { prot: 1 } as never })).toThrow(new TypeError('Unknown option `inspect.prot`; expected one of: port, host'));
  });
});

/** Runs `looppool top <args>` with its output in a pipe: its first two lines are a busy pool's, of two live workers. */
async function expectPlainLines(args: string[]): Promise<void> {
  const top = spawn(process.execPath, [cli, 'top', ...args], { env: plainEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  top.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  try {
    await until(() => out.split('\n').length > 3, 10_000);
  } finally {
    top.kill('SIGTERM');
    await new Promise((resolve) => top.once('exit', resolve));
  }
  const [first, second] = out.split('\n');
  expect(first).toMatch(/^\d{4}-\d\d-\d\dT\S+Z pool=etl workers=2\/2 tasks\/s=- in_flight=\d waiting=\d+ pending=\d+ elu=\S+ restarts=0 errors_1m=0$/);
  expect(second).toMatch(/ tasks\/s=\d+\.\d /);
}

describe('looppool top', () => {
  let running: { pool: LoopPool<FaultTask, number>; stop(): Promise<void> } | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('prints one plain line per second when its output is not a terminal', async () => {
    running = await busyPool({ inspect: true });
    await expectPlainLines([(await running.pool.inspectUrl)!]);
  });

  it('says what is wrong with its command line', async () => {
    const run = promisify(execFile);
    await expect(run(process.execPath, [cli, 'top'], { env: plainEnv })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("looppool: Expected one URL, http://127.0.0.1:<port> (the pool's inspectUrl), got none"),
    });
    await expect(run(process.execPath, [cli, 'top', '--nats', 'nats://127.0.0.1:4222'], { env: plainEnv })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('Expected --nats <url> and --pool <name> together'),
    });
  });

  (tmuxInstalled || process.env['CI'] === 'true' ? it : it.skip)('shows a busy pool live on a terminal (tmux), sorts on s and quits on q', async () => {
    running = await busyPool({ inspect: true });
    const url = (await running.pool.inspectUrl)!;
    const socket = `looppool-test-${process.pid}`;
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: plainEnv });
    const screen = (): string => tmux('capture-pane', '-p', '-t', 'top');
    const alive = (): boolean => spawnSync('tmux', ['-L', socket, 'has-session', '-t', 'top'], { stdio: 'ignore' }).status === 0;
    try {
      tmux('new-session', '-d', '-s', 'top', '-x', '132', '-y', '20', `${process.execPath} ${cli} top ${url}`);
      // The second frame has rates: each worker's row shows tasks/s, and the pool's throughput is a figure.
      await until(() => /workers 2\/2 live {3}\d+\.\d tasks\/s/.test(screen()), 10_000);
      const frame = screen();
      expect(frame).toContain(`looppool top - pool etl at ${url}`);
      expect(frame).toMatch(/^WORKER +STATE +RUN +QUEUE +TASKS\/S +ELU +DELAY p99 +HEAP +RESTARTS/m);
      expect(frame).toMatch(/^etl#0 +(busy|idle) +\d +\d +\d+\.\d +\[[#.]{14}\] +\d+% +\S+ ms +\d+\.\d MB +0$/m);
      expect(frame).toMatch(/^etl#1 +(busy|idle) /m);
      expect(frame).toContain('last error: none');
      expect(frame).toContain('q quit   s sort (by worker)');
      tmux('send-keys', '-t', 'top', 's');
      await until(() => screen().includes('s sort (by tasks/s)'), 5_000);
      tmux('send-keys', '-t', 'top', 'q');
      await until(() => !alive(), 5_000);
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
    }
  });
});

describeWithNats('looppool top --nats', () => {
  let server: NatsServer;
  let host: Host | undefined;
  let running: { pool: LoopPool<FaultTask, number>; stop(): Promise<void> } | undefined;
  beforeEach(async () => {
    server = await startNats();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await host?.kill();
    await server.stop();
  });

  it('watches a cluster pool created with inspect, through NATS, knowing only the server and the pool name', async () => {
    const name = `top${process.pid}`;
    host = startHost(faulty, server.url, name, ['--threads', '2']);
    await host.printed(/serving pool/);
    running = await busyPool({ inspect: true, transport: nats({ servers: server.url, pool: name }), workerData: tally('process', 64) });
    await expectPlainLines(['--nats', server.url, '--pool', name]);
    // Its rows are the remote workers, each with its host.
    const stats = JSON.parse((await get(`${(await running.pool.inspectUrl)!}/stats`)).body) as InspectStats;
    expect(stats.workers.map((worker) => worker.host)).toEqual([expect.stringMatching(/:\d+$/), expect.stringMatching(/:\d+$/)]);
  });

  it('says when no pool of that name answers', async () => {
    const run = promisify(execFile);
    const top = run(process.execPath, [cli, 'top', '--nats', server.url, '--pool', 'nobody'], { env: plainEnv, timeout: 10_000 });
    top.child.stdout!.once('data', () => top.child.kill('SIGTERM'));
    await expect(top).resolves.toMatchObject({
      stdout: expect.stringMatching(/cannot read .* pool nobody: no pool 'nobody' answered through NATS at .* within 2000 ms .*is it running, with nats\(\{ pool \}\) and inspect: true\?/),
    });
  });
});

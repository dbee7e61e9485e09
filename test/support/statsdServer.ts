/**
 * A real Etsy statsd daemon (the `statsd` dev dependency) for tests: started on 127.0.0.1 with
 * free ports and no backend, read back through its management interface, stopped by the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';

export interface StatsdServer {
  /** UDP port that takes metrics. */
  readonly port: number;
  gauges(): Promise<Record<string, number>>;
  counters(): Promise<Record<string, number>>;
  timers(): Promise<Record<string, number[]>>;
  stop(): Promise<void>;
}

export async function startStatsd(): Promise<StatsdServer> {
  const [port, mgmtPort] = [await freeUdpPort(), await freeTcpPort()];
  const dir = mkdtempSync(join(tmpdir(), 'looppool-statsd-'));
  const config = join(dir, 'config.js');
  // Counters and timers are kept until the next flush: an hour, longer than any test.
  writeFileSync(
    config,
    `{ port: ${port}, address: '127.0.0.1', mgmt_port: ${mgmtPort}, mgmt_address: '127.0.0.1', ` +
      `backends: [], flushInterval: 3600000, automaticConfigReload: false }`,
  );
  const child = spawn(process.execPath, ['--require', join(__dirname, 'statsdCompat.js'), require.resolve('statsd/stats.js'), config], {
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const command = (name: string): Promise<string> => mgmt(mgmtPort, name);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const health = await command('health').catch(() => '');
    if (health.includes('health: up')) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      await kill(child);
      throw new Error(`statsd did not start on 127.0.0.1:${port} (management ${mgmtPort})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // The management interface prints JavaScript object literals (util.inspect), not JSON.
  const read = async <V>(name: string): Promise<Record<string, V>> =>
    runInNewContext(`(${(await command(name)).replace(/END\s*$/, '')})`) as Record<string, V>;
  return {
    port,
    gauges: () => read<number>('gauges'),
    counters: () => read<number>('counters'),
    timers: () => read<number[]>('timers'),
    async stop() {
      await kill(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends one management command and returns its answer, up to the blank line that ends it. */
function mgmt(port: number, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${name}\n`));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.endsWith('\n\n') || answer.includes('health:')) {
        socket.end();
        resolve(answer.trim());
      }
    });
    socket.on('error', reject);
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill();
  });
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test support for faults of the NATS server: a real `nats-server` on a free loopback port
 * that a test can kill (SIGKILL) or stop (SIGTERM) and start again on the same port, and a
 * cluster of three joined by routes. Every server listens on 127.0.0.1 only.
 */

export interface NatsServerOptions {
  /** The server's `max_payload` in bytes (the server's default: 1 MiB). */
  readonly maxPayload?: number;
  /** The server's `max_pending` in bytes: a subscriber with more pending is cut as a slow consumer (the server's default: 64 MiB). */
  readonly maxPending?: number;
  /** The server's `write_deadline`, as `"1s"`: a subscriber whose socket takes nothing for that long is cut as a slow consumer (default `"10s"` in 2.9). */
  readonly writeDeadline?: string;
  /** Joins a cluster: the route port of another server of it (a server of a cluster needs `clusterPort`). */
  readonly routes?: readonly number[];
  /** Listens for routes: `-1` for a free port (then read `clusterPort`), or a port. */
  readonly clusterPort?: number;
  /**
   * Tells clients nothing of the other servers of its cluster (`--no_advertise`): a client then
   * knows only the URLs it was given, so one that reaches the cluster through a TCP proxy
   * (`tcpProxy.ts`) does not switch to a server's own address when it reconnects.
   */
  readonly noAdvertise?: boolean;
}

/** One nats-server process, restartable on its port. */
export interface RestartableNats {
  /** `nats://127.0.0.1:<port>`, the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** The route port, when the server is part of a cluster. */
  readonly clusterPort: number | undefined;
  /** Whether the process runs now. */
  readonly running: boolean;
  /** What the server printed since it last started (its log goes to stderr). */
  log(): string;
  /** The names of the clients connected to it now (a pool: `looppool pool <name>`; a host: `looppool-worker <name>`). */
  clients(): Promise<string[]>;
  /** Ends the process with `signal` and waits for its exit (SIGTERM: a graceful stop). */
  down(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts the process again on the same ports. */
  up(): Promise<void>;
  /** `down(signal)`, a pause of `ms`, `up()`. */
  restart(signal: 'SIGKILL' | 'SIGTERM', ms?: number): Promise<void>;
  /** Ends the process for good and removes its folder. */
  stop(): Promise<void>;
}

/** Starts nats-server on a free loopback port (see {@link RestartableNats}). */
export async function startRestartableNats(options: NatsServerOptions = {}): Promise<RestartableNats> {
  const dir = mkdtempSync(join(tmpdir(), 'looppool-nats-'));
  const config: string[] = [];
  if (options.maxPayload !== undefined) config.push(`max_payload: ${options.maxPayload}`);
  if (options.maxPending !== undefined) config.push(`max_pending: ${options.maxPending}`);
  if (options.writeDeadline !== undefined) config.push(`write_deadline: "${options.writeDeadline}"`);
  const configFile = join(dir, 'server.conf');
  writeFileSync(configFile, `${config.join('\n')}\n`);
  let port = -1;
  let monitorPort = -1;
  let clusterPort = options.clusterPort;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';

  const up = async (): Promise<void> => {
    if (child) throw new Error('nats-server runs already');
    for (const name of readdirSync(dir)) if (name.endsWith('.ports')) unlinkSync(join(dir, name));
    const args = ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '--ports_file_dir', dir, '-c', configFile];
    if (clusterPort !== undefined) args.push('--cluster', `nats://127.0.0.1:${clusterPort}`, '--cluster_name', 'looppool');
    if (options.routes && options.routes.length > 0) {
      args.push('--routes', options.routes.map((route) => `nats://127.0.0.1:${route}`).join(','));
    }
    if (options.noAdvertise) args.push('--no_advertise');
    stderr = '';
    const started = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    started.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    exited = new Promise<void>((resolve) =>
      started.once('exit', () => {
        if (child === started) child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ports = readdirSync(dir).find((name) => name.endsWith('.ports'));
      const parsed = ports
        ? (JSON.parse(readFileSync(join(dir, ports), 'utf8') || '{}') as { nats?: string[]; cluster?: string[]; monitoring?: string[] })
        : {};
      const listening = parsed.nats?.[0];
      if (listening && parsed.monitoring?.[0] && (clusterPort === undefined || parsed.cluster?.[0])) {
        port = Number(new URL(listening).port);
        monitorPort = Number(new URL(parsed.monitoring[0]).port);
        if (clusterPort !== undefined) clusterPort = Number(new URL(parsed.cluster![0]!).port);
        return;
      }
      if (started.exitCode !== null || Date.now() > deadline) {
        started.kill('SIGKILL');
        await exited;
        throw new Error(`nats-server did not start (${args.join(' ')}): ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const down = async (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> => {
    child?.kill(signal);
    await exited;
  };

  await up();
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get clusterPort() {
      return clusterPort;
    },
    get running() {
      return child !== undefined;
    },
    log: () => stderr,
    async clients() {
      if (!child) return [];
      const response = await fetch(`http://127.0.0.1:${monitorPort}/connz`);
      const connz = (await response.json()) as { connections?: Array<{ name?: string }> };
      return (connz.connections ?? []).map((connection) => connection.name ?? '');
    },
    down,
    up,
    async restart(signal, ms = 0) {
      await down(signal);
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      await up();
    },
    async stop() {
      await down('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Three servers joined by routes: the second and third route to the first. */
export interface NatsCluster {
  readonly servers: readonly RestartableNats[];
  /** The three client URLs. */
  readonly urls: string[];
  /** Resolves once every server has a route to each of the others. */
  joined(timeout?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a cluster of `size` servers (3 by default) on free loopback ports. */
export async function startNatsCluster(size = 3, options: Pick<NatsServerOptions, 'maxPayload' | 'noAdvertise'> = {}): Promise<NatsCluster> {
  const first = await startRestartableNats({ ...options, clusterPort: -1 });
  const servers = [first];
  try {
    while (servers.length < size) servers.push(await startRestartableNats({ ...options, clusterPort: -1, routes: [first.clusterPort!] }));
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  return {
    servers,
    get urls() {
      return servers.map((server) => server.url);
    },
    joined: (timeout = 10_000) => routed(servers, timeout),
    stop: async () => {
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}

/**
 * Waits until a message published on each running server reaches a subscriber on every other
 * running one: the routes carry interest both ways.
 */
async function routed(servers: readonly RestartableNats[], timeout: number): Promise<void> {
  const { connect } = require('@nats-io/transport-node') as typeof import('@nats-io/transport-node');
  const running = servers.filter((server) => server.running);
  const connections = await Promise.all(running.map((server) => connect({ servers: server.url, reconnect: false })));
  const deadline = Date.now() + timeout;
  try {
    for (const [i, from] of connections.entries()) {
      for (const [j, to] of connections.entries()) {
        if (i === j) continue;
        const subject = `looppool.routed.${i}.${j}`;
        let heard = false;
        const subscription = to.subscribe(subject, { callback: () => {
          heard = true;
        } });
        await to.flush();
        while (!heard) {
          if (Date.now() > deadline) throw new Error(`nats-server ${running[i]!.url} has no route to ${running[j]!.url} after ${timeout} ms`);
          from.publish(subject);
          await from.flush();
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        subscription.unsubscribe();
      }
    }
  } finally {
    await Promise.all(connections.map((connection) => connection.close()));
  }
}

import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy of the test's own, on a free loopback port, between a client (a host, a pool) and
 * its nats-server, that can break the link the two ways a network does:
 *
 * - `cut()`: every connection through it is reset (RST both ways), and new ones are reset
 *   at once, until `heal()`;
 * - `blackhole()`: nothing passes either way, but the sockets stay open (what was sent is
 *   held, as TCP holds unacknowledged data across a dropped route), and new connections wait;
 *   `heal()` lets everything held through, in order;
 * - `mute()`: what the client sends is held, what the server sends passes (a link that loses
 *   one direction): the client hears everyone, no one hears it, until `heal()`.
 */
export interface TcpProxy {
  /** `nats://127.0.0.1:<port>`: give it to the client in place of the server's URL. */
  readonly url: string;
  readonly port: number;
  /** Connections that pass through now. */
  readonly connections: number;
  cut(): void;
  blackhole(): void;
  mute(): void;
  heal(): void;
  /** Closes the proxy and every connection through it. */
  close(): Promise<void>;
}

/**
 * Ends a socket with a reset (RST), or, when its own side has already been ended (`end()`, as
 * `pipe` does when the other side's FIN comes), destroys it. A `resetAndDestroy()` after `end()`
 * and before the shutdown is done fails with EINVAL inside Node (20 to 26) and leaves the socket's
 * handle neither open nor closed: the process then never exits, spinning at exit (it hung a CI
 * run after all its tests had passed). test/tcpProxy.test.ts.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}

/** Starts a proxy to `127.0.0.1:<targetPort>`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let state: 'open' | 'cut' | 'blackholed' | 'muted' = 'open';
  /** Each connection: the client's socket and the server's. */
  const links = new Set<{ client: Socket; server: Socket }>();
  /** Clients that connected while the link was blackholed: they wait for `heal()`. */
  const held: Socket[] = [];


  const reset = resetSocket;

  const join = (client: Socket): void => {
    const server = connect({ host: '127.0.0.1', port: targetPort });
    const link = { client, server };
    links.add(link);
    const end = (): void => {
      if (!links.delete(link)) return;
      reset(client);
      reset(server);
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
    client.pipe(server);
    server.pipe(client);
    if (state === 'blackholed') pause(link);
    if (state === 'muted') hold(link);
  };

  /** What the client sends waits in its socket. */
  const hold = (link: { client: Socket; server: Socket }): void => {
    link.client.unpipe(link.server);
    link.client.pause();
  };

  const pause = (link: { client: Socket; server: Socket }): void => {
    link.client.pause();
    link.server.pause();
    link.client.unpipe(link.server);
    link.server.unpipe(link.client);
  };

  const proxy: Server = createServer((client) => {
    client.on('error', () => {});
    if (state === 'cut') return reset(client);
    if (state === 'blackholed') {
      client.pause();
      held.push(client);
      return;
    }
    join(client);
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (proxy.address() as { port: number }).port;

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get connections() {
      return links.size;
    },
    cut() {
      state = 'cut';
      for (const link of [...links]) {
        links.delete(link);
        reset(link.client);
        reset(link.server);
      }
      for (const client of held.splice(0)) reset(client);
    },
    blackhole() {
      state = 'blackholed';
      for (const link of links) pause(link);
    },
    mute() {
      state = 'muted';
      for (const link of links) hold(link);
    },
    heal() {
      const was = state;
      state = 'open';
      if (was === 'muted') {
        for (const link of links) link.client.pipe(link.server).resume();
        for (const link of links) link.client.resume();
        return;
      }
      if (was !== 'blackholed') return;
      for (const link of links) {
        link.client.pipe(link.server);
        link.server.pipe(link.client);
        link.client.resume();
        link.server.resume();
      }
      for (const client of held.splice(0)) {
        join(client);
        client.resume();
      }
    },
    async close() {
      for (const link of [...links]) {
        links.delete(link);
        reset(link.client);
        reset(link.server);
      }
      for (const client of held.splice(0)) reset(client);
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

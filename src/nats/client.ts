import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { ClusterError } from '../errors';

type NatsClient = { connect(options: ConnectionOptions): Promise<NatsConnection> };

/**
 * Loads `@nats-io/transport-node`, an optional peer dependency: only `looppool/nats` and the
 * `looppool-worker` host in cluster mode need it.
 */
export function loadNatsClient(): NatsClient {
  try {
    return require('@nats-io/transport-node') as NatsClient;
  } catch (error) {
    throw new ClusterError(
      'looppool/nats needs the NATS client, an optional peer dependency that is not installed: ' +
        'run `npm install @nats-io/transport-node@^3.4.0`',
      error,
    );
  }
}

/** What a pool or a host passes to the NATS client. */
export interface NatsConnectOptions {
  readonly servers: string | readonly string[];
  readonly user?: string | undefined;
  readonly pass?: string | undefined;
  readonly token?: string | undefined;
  readonly tls?: ConnectionOptions['tls'] | undefined;
}

/**
 * Connects, or fails with a {@link ClusterError} naming the servers and what went wrong. A
 * refused password or an unreachable server fails at once: the client does not wait for a
 * first connection.
 */
export async function connectNats(options: NatsConnectOptions, name: string): Promise<NatsConnection> {
  const client = loadNatsClient();
  const servers = typeof options.servers === 'string' ? [options.servers] : [...options.servers];
  try {
    return await client.connect({
      servers,
      name,
      ...(options.user === undefined ? {} : { user: options.user }),
      ...(options.pass === undefined ? {} : { pass: options.pass }),
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      waitOnFirstConnect: false,
      maxReconnectAttempts: -1,
    });
  } catch (error) {
    const what = error instanceof Error ? error.message : String(error);
    const hint = /author/i.test(what)
      ? 'check `user`/`pass` or `token`'
      : /certificate|altname|tls|ssl/i.test(what)
        ? "check `tls` (caFile: the CA that signed the server's certificate; certFile and keyFile, if the server wants a client certificate)"
        : 'check that nats-server runs there and that `servers` is right';
    throw new ClusterError(`Could not connect to NATS at ${servers.join(', ')}: ${what}; ${hint}`, error);
  }
}

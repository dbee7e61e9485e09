/**
 * Workers on other hosts, through NATS: `nats({ servers, pool })` is a transport for
 * `createPool(worker, { size, transport })` and `loopPool(worker, { size, transport })`;
 * hosts that run `looppool-worker <module> --nats <url> --pool <name>` serve its workers.
 * Needs the optional peer dependency `@nats-io/transport-node`. See docs/cluster.md.
 *
 * @module looppool/nats
 */
import type { ConnectionOptions } from '@nats-io/transport-node';
import { clusterBrand, type ClusterTransport } from '../transport/cluster';
import type { WorkerStartOptions } from '../transport/startOptions';
import type { PortFactory } from '../transport/transport';
import { loadNatsClient } from './client';
import { Hub } from './hub';
import { serveInspect } from './inspect';
import { poolNamePattern, setupRecord } from './wire';

export { ClusterError, MessagesLostError, PayloadTooLargeError } from '../errors';
export type { ClusterTransport } from '../transport/cluster';

/** Where the pool's workers are served, and how to reach the NATS server. */
export interface NatsTransportOptions {
  /** The NATS server(s): `'nats://host:4222'` or several, for a cluster of servers. */
  servers: string | string[];
  /**
   * The pool's name in the cluster, as hosts name it (`looppool-worker --pool <name>`). It
   * becomes a subject token (`looppool.<pool>.…`): letters, digits, `-` and `_`.
   */
  pool: string;
  /** User name, with `pass`, if the server requires them. */
  user?: string;
  /** Password, with `user`. */
  pass?: string;
  /** Token, if the server requires one. */
  token?: string;
  /** TLS options, passed to the NATS client as they are. */
  tls?: ConnectionOptions['tls'];
  /**
   * How long (ms) a host may stay silent before the pool counts it lost: its workers end,
   * their tasks go to hosts still there (see docs/cluster.md for which run again). Hosts
   * announce themselves every 500 ms, so keep it above 1,000.
   * @default 3000
   */
  ackWait?: number;
}

/**
 * A transport whose `size` workers are served by `looppool-worker` hosts through NATS. The
 * connection opens when the pool starts its first worker and closes when the pool closes;
 * `pool.ready` resolves once hosts serve all `size` workers (with `size: { min, max }`, `min`
 * of them; more start as tasks wait, up to `max`, on threads hosts offer).
 *
 * @throws ClusterError when `@nats-io/transport-node` is not installed.
 * @throws TypeError or RangeError when an option is missing or wrong.
 */
export function nats(options: NatsTransportOptions): ClusterTransport {
  const checked = check(options);
  loadNatsClient(); // fails now, not at the first worker, when the client is missing
  const servers = typeof checked.servers === 'string' ? checked.servers : checked.servers.join(', ');
  const description = `NATS at ${servers}, pool ${checked.pool}`;
  return {
    [clusterBrand]: true,
    description,
    bind<T, R>(pool: WorkerStartOptions): PortFactory<T, R> {
      return new Hub(checked, setupRecord(pool)).transport<T, R>();
    },
    serveInspect: (stats) => serveInspect(checked, stats),
  };
}

function check(options: NatsTransportOptions): NatsTransportOptions & { ackWait: number } {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected nats(options) to get { servers, pool }, got ${String(options)}`);
  }
  const known = ['servers', 'pool', 'user', 'pass', 'token', 'tls', 'ackWait'];
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) throw new TypeError(`Unknown option \`${name}\` of nats(...); expected one of: ${known.join(', ')}`);
  }
  const { servers, pool, ackWait = 3_000 } = options;
  const list = typeof servers === 'string' ? [servers] : servers;
  if (!Array.isArray(list) || list.length === 0 || !list.every((server) => typeof server === 'string' && server !== '')) {
    throw new TypeError(`Expected \`servers\` to be a NATS URL or a non-empty array of them, got ${JSON.stringify(servers)}`);
  }
  if (typeof pool !== 'string' || !poolNamePattern.test(pool)) {
    throw new TypeError(
      `Expected \`pool\` to be a name of letters, digits, - and _ (it becomes the NATS subject token looppool.<pool>), got ${JSON.stringify(pool)}`,
    );
  }
  if (typeof ackWait !== 'number' || !Number.isFinite(ackWait) || ackWait < 1_000) {
    throw new RangeError(`Expected \`ackWait\` to be at least 1000 ms (hosts announce themselves every 500 ms), got ${String(ackWait)}`);
  }
  for (const name of ['user', 'pass', 'token'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'string') {
      throw new TypeError(`Expected \`${name}\` to be a string, got ${typeof options[name]}`);
    }
  }
  return { ...options, ackWait };
}

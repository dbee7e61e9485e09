import type { WorkerStartOptions } from './startOptions';
import type { PortFactory } from './transport';

/** Marks a {@link ClusterTransport}: a symbol from the global registry, so that the check holds across copies of the package. */
export const clusterBrand: unique symbol = Symbol.for('looppool.clusterTransport') as never;

/**
 * Workers served from elsewhere: what `nats(...)` of `looppool/nats` returns, given as the
 * `transport` option. The pool does not start its workers: hosts that run `looppool-worker`
 * serve them, and the pool reaches them through the cluster.
 */
export interface ClusterTransport {
  /** Marks the object as a cluster transport. */
  readonly [clusterBrand]: true;
  /** Where the workers are, in words, for errors and logs (`nats://host:4222, pool images`). */
  readonly description: string;
  /**
   * Binds the transport to one pool: called once per pool, with the pool's options.
   * @internal
   */
  bind<T, R>(options: WorkerStartOptions): PortFactory<T, R>;
  /**
   * With the pool's `inspect` option: serves `stats()` (what `/stats` answers) to
   * `looppool top --nats`, until `close()`.
   * @internal
   */
  serveInspect?(stats: () => unknown): { close(): Promise<void> };
}

/** Whether `value` is a {@link ClusterTransport}. */
export function isClusterTransport(value: unknown): value is ClusterTransport {
  return typeof value === 'object' && value !== null && (value as Partial<ClusterTransport>)[clusterBrand] === true;
}

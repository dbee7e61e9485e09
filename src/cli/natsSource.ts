import type { TopSource } from './top';

/** `looppool top --nats <url> --pool <name>`: not served yet. */
export async function natsSource(url: string, pool: string): Promise<TopSource> {
  throw new Error(`looppool top --nats ${url} --pool ${pool}: reading a cluster pool through NATS is not implemented yet; start the pool with inspect: true and run looppool top <its inspectUrl>`);
}

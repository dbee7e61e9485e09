import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, type NatsConnectOptions } from './client';

/**
 * `looppool top --nats <url> --pool <name>`: a cluster pool created with `inspect` answers
 * requests on `looppool.<pool>.inspect` with what its inspect server's `/stats` answers (JSON),
 * so that `looppool top` can watch it knowing only the NATS server and the pool's name.
 */
export const inspectSubject = (pool: string): string => `looppool.${pool}.inspect`;

/**
 * Answers `looppool.<pool>.inspect` with `stats()` as JSON, on a connection of its own (the
 * pool's hub opens and closes its own with its workers), until `close()`. A server that cannot
 * be reached is said in a warning: the pool runs on, unwatched.
 */
export function serveInspect(options: NatsConnectOptions & { readonly pool: string }, stats: () => unknown): { close(): Promise<void> } {
  let closed = false;
  const connection = connectNats(options, `looppool inspect ${options.pool}`).then(
    (nc) => {
      if (closed) return void nc.close();
      nc.subscribe(inspectSubject(options.pool), {
        callback: (_error, message) => {
          if (message.reply) message.respond(JSON.stringify(stats()));
        },
      });
      return nc;
    },
    (error: Error) => process.emitWarning(`looppool: the pool '${options.pool}' cannot be watched through NATS: ${error.message}`),
  );
  return {
    async close() {
      closed = true;
      const nc: NatsConnection | undefined = (await connection) ?? undefined;
      await nc?.close();
    },
  };
}

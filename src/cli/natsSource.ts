import { connectNats } from '../nats/client';
import { inspectSubject } from '../nats/inspect';
import type { InspectStats } from '../metrics/inspect';
import type { TopSource } from './top';

/** How long (ms) `looppool top --nats` waits for the pool's answer. */
const answerWithin = 2_000;

/**
 * `looppool top --nats <url> --pool <name>`: asks the cluster pool `pool`, through the NATS
 * server at `url`, for its figures each second (it answers when created with `inspect`). Its
 * remote workers' rows name their hosts.
 */
export async function natsSource(url: string, pool: string): Promise<TopSource> {
  const nc = await connectNats({ servers: url }, 'looppool top');
  const encoder = new TextEncoder();
  return {
    label: `${url} pool ${pool}`,
    async read() {
      let data: Uint8Array;
      try {
        data = (await nc.request(inspectSubject(pool), encoder.encode(''), { timeout: answerWithin })).data;
      } catch (error) {
        throw new Error(
          `no pool '${pool}' answered through NATS at ${url} within ${answerWithin} ms (${(error as Error).message}): ` +
            'is it running, with nats({ pool }) and inspect: true?',
          { cause: error },
        );
      }
      return JSON.parse(new TextDecoder().decode(data)) as InspectStats;
    },
    close: () => nc.close(),
  };
}

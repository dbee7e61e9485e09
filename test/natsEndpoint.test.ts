/**
 * How an {@link Endpoint} (src/nats/endpoint.ts) counts a peer's silence across a close and a
 * reopen, as a pool's hub does when an elastic pool (`size: { min: 0, max }`) goes down to no
 * worker and grows again: neither the time it was closed nor an outage it closed in carries over. The endpoint is the real one over real connections to a real
 * nats-server; only `performance.now()` is faked (jest's fake clock, no timer faked), so that
 * the checks run at exact times, as the hub's interval would call them on an idle machine.
 */
import { connectNats } from '../src/nats/client';
import { Endpoint, type EndpointOwner } from '../src/nats/endpoint';
import { describeWithNats, startNats, type NatsServer } from './support/nats';
import { until } from './support/until';

/** How often (ms) the test calls `silent()`, as the hub's `lossCheckInterval`. */
const interval = 50;
/** How long (ms) the watched peer may be silent. */
const limit = 1_000;

const owner: EndpointOwner = {
  record: () => undefined,
  broken: () => undefined,
  unsendable: () => undefined,
  heartbeat: () => undefined,
};

describeWithNats('Endpoint: silence checks across a reopen', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNats();
  });
  afterAll(async () => {
    await server.stop();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('does not count the time it was closed as its own loop blocked: a peer silent from the reopen is noticed within its limit', async () => {
    jest.useFakeTimers({
      doNotFake: ['Date', 'hrtime', 'nextTick', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
    });
    const endpoint = new Endpoint('pool', (peer) => `endpointtest.host.${peer}`, interval, owner);
    endpoint.open(await connectNats({ servers: server.url }, 'endpoint test 1'), 'endpointtest.pool.1');
    jest.advanceTimersByTime(interval);
    expect(endpoint.silent()).toEqual([]);
    expect(endpoint.blocked).toBe(0);
    await endpoint.close();

    jest.advanceTimersByTime(10_000); // closed: no worker, no check
    endpoint.open(await connectNats({ servers: server.url }, 'endpoint test 2'), 'endpointtest.pool.2');
    try {
      endpoint.watch('host', limit); // a host heard from now, then silent for good
      let elapsed = 0;
      let blocked = 0;
      let noticed: Array<readonly [string, number]> = [];
      while (noticed.length === 0 && elapsed < 20_000) {
        jest.advanceTimersByTime(interval);
        elapsed += interval;
        noticed = endpoint.silent();
        blocked = Math.max(blocked, endpoint.blocked);
      }
      // Every check ran on time; the host is noticed at the first check past its limit.
      expect({ noticed, blocked, after: elapsed }).toEqual({ noticed: [['host', limit]], blocked: 0, after: limit + interval });
    } finally {
      await endpoint.close();
    }
  });

  it("closed while its connection was down, it is online once reopened (offline, no peer's silence would ever count)", async () => {
    const gone = await startNats();
    const endpoint = new Endpoint('pool', (peer) => `endpointtest.host.${peer}`, interval, owner);
    endpoint.open(await connectNats({ servers: gone.url }, 'endpoint test 3'), 'endpointtest.pool.3');
    await gone.stop(); // the connection drops; the client dials again
    await until(() => endpoint.offline, 10_000);
    await endpoint.close(); // e.g. an elastic pool's last idle worker stopped during the outage
    endpoint.open(await connectNats({ servers: server.url }, 'endpoint test 4'), 'endpointtest.pool.4');
    try {
      expect(endpoint.offline).toBe(false);
    } finally {
      await endpoint.close();
    }
  });
});

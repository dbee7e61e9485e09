/**
 * `npm run bench:jetstream`: what NATS JetStream costs and gives for a worker pool, measured on
 * this machine against core NATS, so that docs/cluster.md's choice of core NATS rests on figures.
 * A nats-server with JetStream (`-js`) on a free loopback port, a producer here and a responder
 * in a child process (a loop of its own, like a host):
 *  1. core NATS, one task per message (and 100 per message): tasks/s with a window of in-flight tasks;
 *  2. a JetStream work queue (work-queue retention, durable pull consumer, explicit ack,
 *     `ack_wait`, `max_ack_pending`), `js.publish` with the PubAck awaited, `consume()` and one
 *     ack per message: tasks/s one task per message and 100 per message;
 *  3. the round trip of one task at a time, core and JetStream (p50/p99);
 *  4. a streamed task (5 results) whose responder publishes 3 and is SIGKILLed without acking:
 *     the time until JetStream redelivers it, and how many results the producer then gets twice;
 *     and a task longer than `ack_wait` kept by `working()`, against one in a blocked loop.
 * Sizes: BENCH_TASKS (default 100,000), BENCH_SAMPLES (2,000), BENCH_ACK_WAIT_MS (3,000).
 * Needs `nats-server` on PATH (apt-get install -y nats-server).
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { natsInstalled, startNats, type NatsServer } from '../test/support/nats';

const tasks = Number(process.env['BENCH_TASKS'] ?? 100_000);
const samples = Number(process.env['BENCH_SAMPLES'] ?? 2_000);
const ackWait = Number(process.env['BENCH_ACK_WAIT_MS'] ?? 3_000);
/** Tasks in flight, as the cluster bench's queueSize. */
const window = 2_048;
const pack = 100;
const responderPath = join(__dirname, 'jetstream.responder.js');
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
const decode = <T>(data: Uint8Array): T => JSON.parse(decoder.decode(data)) as T;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

type Event = { ready?: true; delivered?: number; count?: number; published?: number };

interface Responder {
  readonly child: ChildProcess;
  /** Resolves with the next event that `match` accepts, stamped with performance.now(). */
  next(match: (event: Event) => boolean, timeout?: number): Promise<Event & { at: number }>;
  readonly events: (Event & { at: number })[];
  kill(): Promise<void>;
}

const responders = new Set<Responder>();

async function responder(options: Record<string, unknown>): Promise<Responder> {
  const child = fork(responderPath, [JSON.stringify(options)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const events: (Event & { at: number })[] = [];
  const waiters = new Set<() => void>();
  child.on('message', (event: Event) => {
    events.push({ ...event, at: performance.now() });
    for (const waiter of [...waiters]) waiter();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const made: Responder = {
    child,
    events,
    next(match, timeout = 20_000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the responder (${String(options['mode'])}) sent no awaited event within ${timeout} ms`));
        }, timeout);
        const check = (): void => {
          for (; seen < events.length; seen++) {
            if (!match(events[seen]!)) continue;
            clearTimeout(timer);
            waiters.delete(check);
            resolve(events[seen]!);
            return;
          }
        };
        waiters.add(check);
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      responders.delete(made);
    },
  };
  responders.add(made);
  await made.next((event) => event.ready === true);
  return made;
}

let streams = 0;
/** A work-queue stream and its durable pull consumer, for one measurement. */
async function workQueue(jsm: JetStreamManager, maxAckPending: number): Promise<{ stream: string; consumer: string; subject: string }> {
  const stream = `TASKS${++streams}`;
  const subject = `tasks.js${streams}`;
  await jsm.streams.add({ name: stream, subjects: [subject], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
  await jsm.consumers.add(stream, {
    durable_name: 'workers',
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ackWait),
    max_ack_pending: maxAckPending,
    max_deliver: -1,
  });
  return { stream, consumer: 'workers', subject };
}

/**
 * Tasks/s: `send` publishes one message of `ids` tasks; the responder answers each message with
 * the array of its ids on `results`; at most `window` tasks wait for their result.
 */
async function pump(nc: NatsConnection, results: string, perMessage: number, send: (ids: number[], fail: (error: unknown) => void) => void): Promise<number> {
  let next = 0;
  let done = 0;
  const started = performance.now();
  let sub: { unsubscribe(): void } | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let last = done;
      // Core NATS drops rather than blocks: a stall fails the run instead of hanging it.
      watchdog = setInterval(() => {
        if (done === last) reject(new Error(`stalled: ${done} of ${tasks} results after 10 s without one`));
        last = done;
      }, 10_000);
      const fill = (): void => {
        while (next < tasks && next - done + perMessage <= window) {
          const ids: number[] = [];
          for (let i = 0; i < perMessage && next < tasks; i++) ids.push(next++);
          send(ids, reject);
        }
      };
      sub = nc.subscribe(results, {
        callback: (_error, msg) => {
          done += decode<number[]>(msg.data).length;
          if (done >= tasks) resolve();
          else fill();
        },
      });
      nc.flush().then(fill, reject);
    });
  } finally {
    clearInterval(watchdog);
    sub?.unsubscribe();
  }
  return tasks / ((performance.now() - started) / 1000);
}

async function coreRate(server: NatsServer, nc: NatsConnection, perMessage: number): Promise<number> {
  const id = ++streams;
  const one = await responder({ url: server.url, mode: 'core', tasks: `tasks.core${id}`, results: `results.core${id}` });
  try {
    return await pump(nc, `results.core${id}`, perMessage, (ids) => nc.publish(`tasks.core${id}`, encode(ids)));
  } finally {
    await one.kill();
  }
}

async function jetstreamRate(server: NatsServer, nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, perMessage: number): Promise<{ rate: number; maxAckPending: number }> {
  const maxAckPending = Math.ceil(window / perMessage);
  const queue = await workQueue(jsm, maxAckPending);
  const results = `results.${queue.stream}`;
  const one = await responder({ url: server.url, mode: 'consume', ...queue, results, window: maxAckPending });
  try {
    const rate = await pump(nc, results, perMessage, (ids, fail) => {
      js.publish(queue.subject, encode(ids)).catch(fail);
    });
    return { rate, maxAckPending };
  } finally {
    await one.kill();
    await jsm.streams.delete(queue.stream);
  }
}

function percentiles(times: number[]): string {
  times.sort((a, b) => a - b);
  const at = (q: number): string => times[Math.floor(times.length * q)]!.toFixed(3);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`;
}

/** One task at a time: from the publish until its result is back. */
async function roundTrip(nc: NatsConnection, results: string, send: (id: number) => Promise<unknown>): Promise<string> {
  let arrived: (() => void) | undefined;
  const sub = nc.subscribe(results, { callback: () => arrived?.() });
  await nc.flush();
  const times: number[] = [];
  const warmUp = Math.min(500, samples);
  for (let id = 0; id < warmUp + samples; id++) {
    const back = new Promise<void>((resolve) => (arrived = resolve));
    const started = performance.now();
    const acked = send(id);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([back, new Promise((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`round trip ${id}: no result within 10 s`)), 10_000)))]);
    clearTimeout(timer);
    const took = performance.now() - started;
    await acked;
    if (id >= warmUp) times.push(took);
  }
  sub.unsubscribe();
  return percentiles(times);
}

async function coreRoundTrip(server: NatsServer, nc: NatsConnection): Promise<string> {
  const id = ++streams;
  const one = await responder({ url: server.url, mode: 'core', tasks: `tasks.core${id}`, results: `results.core${id}` });
  try {
    return await roundTrip(nc, `results.core${id}`, async (n) => nc.publish(`tasks.core${id}`, encode([n])));
  } finally {
    await one.kill();
  }
}

async function jetstreamRoundTrip(server: NatsServer, nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager): Promise<string> {
  const queue = await workQueue(jsm, window);
  const results = `results.${queue.stream}`;
  const one = await responder({ url: server.url, mode: 'consume', ...queue, results });
  try {
    return await roundTrip(nc, results, (n) => js.publish(queue.subject, encode([n])));
  } finally {
    await one.kill();
    await jsm.streams.delete(queue.stream);
  }
}

type Result = { id: number; index: number; by: number };

/** Collects the results { id, index } published on `results`. */
async function collect(nc: NatsConnection, results: string): Promise<{ values: Result[]; stop(): void }> {
  const values: Result[] = [];
  const sub = nc.subscribe(results, { callback: (_error, msg) => void values.push(decode<Result>(msg.data)) });
  await nc.flush();
  return { values, stop: () => sub.unsubscribe() };
}

const twice = (values: Result[]): number => values.length - new Set(values.map((value) => `${value.id}:${value.index}`)).size;

/** A streamed task of 5 results; its first responder publishes 3 and is SIGKILLed unacked. */
async function redelivery(server: NatsServer, nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager): Promise<string> {
  const queue = await workQueue(jsm, window);
  const results = `results.${queue.stream}`;
  const got = await collect(nc, results);
  const first = await responder({ url: server.url, mode: 'die', ...queue, results });
  let second: Responder | undefined;
  try {
    await js.publish(queue.subject, encode({ id: 1, yields: 5 }));
    const delivered = await first.next((event) => event.delivered !== undefined);
    await first.next((event) => event.published === 3);
    await first.kill();
    const killed = performance.now();
    second = await responder({ url: server.url, mode: 'consume', ...queue, results });
    const again = await second.next((event) => event.delivered !== undefined, ackWait + 20_000);
    const deadline = performance.now() + 5_000;
    while (got.values.length < 8 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await nc.flush();
    const distinct = new Set(got.values.map((value) => `${value.id}:${value.index}`)).size;
    return (
      `redelivery of a streamed task (5 results, 3 published, then SIGKILL, no ack; ack_wait ${seconds(ackWait)}): ` +
      `redelivered ${seconds(again.at - delivered.at)} after the first delivery (${seconds(again.at - killed)} after the kill), delivery ${again.count}; ` +
      `the producer received ${got.values.length} result values, ${distinct} distinct, ${twice(got.values)} twice`
    );
  } finally {
    got.stop();
    await first.kill();
    await second?.kill();
    await jsm.streams.delete(queue.stream);
  }
}

/**
 * A task of 1.6 × ack_wait, taken by one responder with `next()`; once it has it, a standby
 * responder consumes the same durable consumer. `working` keeps the lease with working();
 * `blocked` spins, and cannot.
 */
async function longTask(server: NatsServer, nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, mode: 'working' | 'blocked'): Promise<string> {
  const ms = Math.round(ackWait * 1.6);
  const queue = await workQueue(jsm, window);
  const results = `results.${queue.stream}`;
  const got = await collect(nc, results);
  const first = await responder({ url: server.url, mode, ...queue, results, workingEvery: Math.round(ackWait / 3) });
  let standby: Responder | undefined;
  try {
    await js.publish(queue.subject, encode({ id: 1, ms }));
    const delivered = await first.next((event) => event.delivered !== undefined);
    standby = await responder({ url: server.url, mode: 'consume', ...queue, results });
    // The first responder is blocked while it spins: its result, not its IPC, says it finished.
    const deadline = performance.now() + ms + ackWait + 5_000;
    while (!got.values.some((value) => value.by === first.child.pid) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const finished = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 300)); // anything late
    await nc.flush();
    const again = standby.events.find((event) => event.delivered !== undefined);
    const what = mode === 'working' ? `working() every ${seconds(ackWait / 3)}` : 'a blocked loop (no working())';
    const fate = again
      ? `redelivered ${seconds(again.at - delivered.at)} after the first delivery, ${again.at < finished ? 'while the first was still running' : 'after the first had finished'} (it finished at ${seconds(finished - delivered.at)})`
      : `not redelivered (finished at ${seconds(finished - delivered.at)})`;
    return `long task ${seconds(ms)} > ack_wait ${seconds(ackWait)}, ${what}: ${fate}; ${got.values.length} result value(s), ${twice(got.values)} twice`;
  } finally {
    got.stop();
    await first.kill();
    await standby?.kill();
    await jsm.streams.delete(queue.stream);
  }
}

async function main(): Promise<void> {
  if (!natsInstalled) {
    console.log('bench:jetstream needs nats-server on PATH: apt-get install -y nats-server');
    process.exitCode = 1;
    return;
  }
  const version = spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`JetStream against core NATS: node ${process.version}, ${version}, ${fmt(tasks)} tiny tasks per rate, window ${fmt(window)} tasks in flight, ${fmt(samples)} round trips, file storage`);
  const server = await startNats();
  const nc = await connect({ servers: server.url });
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    console.log(`core NATS, 1 task per message: ${fmt(await coreRate(server, nc, 1))} tasks/s`);
    console.log(`core NATS, ${pack} tasks per message: ${fmt(await coreRate(server, nc, pack))} tasks/s`);
    for (const perMessage of [1, pack]) {
      const { rate, maxAckPending } = await jetstreamRate(server, nc, js, jsm, perMessage);
      console.log(`JetStream work queue, ${perMessage} task${perMessage > 1 ? 's' : ''} per message (PubAck awaited, one ack per message, max_ack_pending ${fmt(maxAckPending)}): ${fmt(rate)} tasks/s`);
    }
    console.log(`round trip, core NATS: ${await coreRoundTrip(server, nc)}`);
    console.log(`round trip, JetStream: ${await jetstreamRoundTrip(server, nc, js, jsm)}`);
    console.log(await redelivery(server, nc, js, jsm));
    console.log(await longTask(server, nc, js, jsm, 'working'));
    console.log(await longTask(server, nc, js, jsm, 'blocked'));
  } finally {
    await Promise.all([...responders].map((one) => one.kill()));
    await nc.close();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

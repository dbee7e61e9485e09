import { deserialize, serialize } from 'node:v8';
import type { WorkerStartOptions } from '../transport/startOptions';
import type { TaskFailure, WorkerCrash, WorkerLoadFailure } from '../transport/transport';
import { headerLength, type Links } from './links';
import { clusterMessageLimit } from './pieces';

/**
 * The messages between a pool and the `looppool-worker` hosts that serve it over NATS, and
 * their subjects. Every subject starts `looppool.<pool>.`, so pools of different names never
 * see each other's messages. A message's body is one `v8.serialize`d array (the
 * structured-clone format: data only, never code): the sender's id, then its records, four
 * values each, flat (a record shown shorter below is padded with 0; see {@link Publisher}); one
 * NATS connection per side keeps them in order.
 *
 * ```
 * looppool.<pool>.hosts          host → pools   [hostId, free threads, threads, label], every 500 ms
 * looppool.<pool>.discover       pool → hosts   announce yourselves now
 * looppool.<pool>.host.<hostId>  pool → host    records of PoolOp: setup, run, cancel, stop, ping, sample, heartbeat
 * looppool.<pool>.pool.<poolId>  host → pool    records of HostOp: ready, started, next, last, complete, error, exited, ...
 * ```
 *
 * A record names its worker by `wid`, a number the pool gives each incarnation of a worker
 * (a replacement gets a new one), so that a late message of a worker the pool has given up
 * is recognised and dropped.
 */

/** Records the pool sends to one host. */
export const PoolOp = {
  /** `[setup, wid, index, WorkerSetupRecord]`: serve worker `index` of this pool as `wid`. */
  setup: 1,
  /** `[run, wid, ticket, task]` */
  run: 2,
  /** `[cancel, wid, ticket]` */
  cancel: 3,
  /** `[stop, wid]`: stop the worker, drop its tasks. */
  stop: 4,
  /** `[ping, wid, id]`: answer once the worker's loop has read everything sent so far. */
  ping: 5,
  /** `[sample, wid, id]`: measure the worker. */
  sample: 6,
  /** `[heartbeat, 0, ackWait]`: the pool is alive; a host that hears nothing for `ackWait` ms stops its workers. */
  heartbeat: 7,
  /** `[kill, wid]`: the worker does not answer: end its thread now and say what it ran (`exited`). */
  kill: 8,
  /** `[credit, wid, ticket, n]`: task `ticket`'s consumer has taken `n` more of its values (`streamWindow`). */
  credit: 9,
  /** `[runTraced, wid, ticket, [task, traceparent]]`: `run` for a traced task, with its attempt span's W3C `traceparent`. */
  runTraced: 10,
} as const;

/** Records a host sends to one pool. */
export const HostOp = {
  /** `[ready, wid]` */
  ready: 1,
  /** `[failed, wid, reason, error]`: the worker did not start. */
  failed: 2,
  /** `[refused, wid]`: the host has no free thread (another pool took it first). */
  refused: 3,
  /** `[started, wid, ticket]` */
  started: 4,
  /** `[next, wid, ticket, value]` */
  next: 5,
  /** `[complete, wid, ticket]` */
  complete: 6,
  /** `[error, wid, ticket, TaskFailure]` */
  error: 7,
  /** `[emitted, wid, value]` */
  emitted: 8,
  /** `[unsendable, wid, reason]` */
  unsendable: 9,
  /** `[exited, wid, ExitRecord]` */
  exited: 10,
  /** `[pong, wid, id]` */
  pong: 11,
  /** `[sampled, wid, id, WorkerSample]` */
  sampled: 12,
  /** `[blocked, wid, ms, ticket]`: the thread's loop has not turned for `ms` ms, running `ticket` (0: unknown); `ms` 0: it turns again. */
  blocked: 13,
  /** `[last, wid, ticket, value]`: `next` then `complete` in one record, for a task whose last result and end go in one batch. */
  last: 14,
  /** `[heartbeat, 0]`: every 500 ms to each pool it serves; numbered, it shows the pool a lost last message (see `links.ts`). */
  heartbeat: 15,
  /** `[spans, wid, SpanRecord[]]`: spans the worker's code ended (`registerWorkerTracing`), for the pool's process to export. */
  spans: 16,
} as const;

/** The fields of {@link WorkerStartOptions} that cross the wire: data and numbers (no `transfer`, no heap limits). */
const setupFields = ['workerData', 'concurrency', 'gracePeriod', 'blockingThreshold', 'taskTimeout', 'name', 'streamWindow', 'streamBuffer'] as const;

/** What a host needs to start one worker of a pool: the fields of {@link WorkerStartOptions} that cross the wire. */
export type WorkerSetupRecord = Pick<WorkerStartOptions, (typeof setupFields)[number]>;

/** Those fields of `options` and no others: what a pool sends its hosts, and what a host passes on to its thread. */
export function setupRecord(options: WorkerSetupRecord): WorkerSetupRecord {
  return Object.fromEntries(setupFields.map((field) => [field, options[field]])) as unknown as WorkerSetupRecord;
}

/** How a served worker ended, as its host saw it: a `WorkerExit` whose unfinished tasks are named by ticket. */
export type ExitRecord =
  | (Omit<WorkerLoadFailure<never>, 'tasks' | 'workerDataUnsendable'> & { readonly tasks: ReadonlyArray<TaskRecord> })
  | (Omit<WorkerCrash<never>, 'tasks'> & { readonly tasks: ReadonlyArray<TaskRecord> });

/** One unfinished task of an {@link ExitRecord}: `[ticket, started, blocking]`. */
export type TaskRecord = readonly [number, boolean | undefined, boolean | undefined];

/** Pool names become a subject token: letters, digits, `-` and `_`. */
export const poolNamePattern = /^[A-Za-z0-9_-]+$/;

/** The subjects of pool `pool` (see above); computed once per pool or host, not per record. */
export const subjects = (pool: string) => ({
  hosts: `looppool.${pool}.hosts`,
  discover: `looppool.${pool}.discover`,
  host: (hostId: string) => `looppool.${pool}.host.${hostId}`,
  pool: (poolId: string) => `looppool.${pool}.pool.${poolId}`,
});

/** How often (ms) a host announces itself, and a pool tells its hosts it is alive. */
export const announceInterval = 500;

/** Encodes a message; throws if a value in it cannot be cloned. */
export function encode(message: readonly unknown[]): Uint8Array {
  return serialize(message);
}

/** Decodes a message; what is not an array, or does not decode, is an empty one. */
export function decode(data: Uint8Array): unknown[] {
  let value: unknown;
  try {
    value = deserialize(data);
  } catch {
    return [];
  }
  return Array.isArray(value) ? value : [];
}

/** Why a record could not go: it cannot be cloned, or it is past {@link clusterMessageLimit}. */
export type Unsendable =
  | { readonly kind: 'unserializable'; readonly reason: string }
  | { readonly kind: 'tooLarge'; readonly reason: string; readonly bytes: number; readonly limit: number; readonly maxPayload: number };

/** How a task fails whose input or result (`subject`) could not go. */
export function taskFailure(why: Unsendable, subject: 'task' | 'result'): TaskFailure {
  return why.kind === 'tooLarge'
    ? { kind: 'tooLarge', subject, bytes: why.bytes, limit: why.limit, maxPayload: why.maxPayload }
    : { kind: 'unserializable', subject, reason: why.reason };
}

/**
 * Collects records for several subjects during one turn of the event loop and publishes
 * each subject's records as one message at its end: `[sender, op, wid, a, b, op, wid, a, b,
 * …]`, every record four values, flat (one array fewer to encode and decode per record).
 *
 * No message exceeds the server's `max_payload` (read from its INFO at each flush): a batch
 * past it goes as several messages, in order, and a record past it alone goes in pieces
 * ({@link toPieces}). A record that cannot be cloned, or is past {@link clusterMessageLimit},
 * does not go: `unsendable` says what goes in its place, so that what follows it (a task's
 * `complete` after its uncloneable `next`) does not overtake its replacement.
 *
 * Not the `Outbox` of the thread and process ports (src/transport/outbox.ts), though both
 * send once per turn: that one posts one worker's flat triples with their transfer lists to
 * one channel; this one keeps records for several subjects and encodes each batch itself.
 */
export class Publisher {
  /** Each subject's message being collected this turn. */
  private readonly pending = new Map<string, Batch>();
  /** Arrays of messages sent, emptied, for the next turn's (see {@link Batch}). */
  private readonly spare: unknown[][] = [];
  private scheduled = false;

  /**
   * @param links numbers each message for its peer, keeps it until the peer has it, and publishes it.
   * @param maxPayload the connected server's `max_payload`, in bytes.
   */
  constructor(
    private readonly links: Links,
    private readonly unsendable: (subject: string, record: unknown[], why: Unsendable) => unknown[] | undefined,
    private readonly maxPayload: () => number,
  ) {}

  /** Queues the record `[op, wid, a, b]` for `subject`. */
  add(subject: string, op: number, wid: number, a: unknown = 0, b: unknown = 0): void {
    let batch = this.pending.get(subject);
    if (!batch) this.pending.set(subject, (batch = { values: this.spare.pop() ?? [0, 0, 0, 0, 0], length: headerLength }));
    const { values, length } = batch;
    // In order from `length`, which is at most `values.length`: the array stays packed.
    values[length] = op;
    values[length + 1] = wid;
    values[length + 2] = a;
    values[length + 3] = b;
    batch.length = length + 4;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** If the newest record waiting for `subject` is `[op, wid, a, …]`, its op becomes `to`. */
  retag(subject: string, op: number, wid: number, a: unknown, to: number): boolean {
    const batch = this.pending.get(subject);
    if (!batch) return false;
    const { values, length } = batch;
    const at = length - 4;
    if (at < headerLength || values[at] !== op || values[at + 1] !== wid || values[at + 2] !== a) return false;
    values[at] = to;
    return true;
  }

  /** Publishes everything collected so far. */
  flush(): void {
    this.scheduled = false;
    const pending = [...this.pending];
    this.pending.clear();
    const maxPayload = this.maxPayload();
    for (const [subject, { values, length }] of pending) {
      const header = this.links.header(subject);
      for (let at = 0; at < headerLength; at++) values[at] = header[at];
      const message = values.slice(0, length);
      // The array goes back emptied (nothing of this turn's values held), unless a burst made it large.
      values.fill(0, headerLength, length);
      if (values.length <= spareLimit && this.spare.length < 4) this.spare.push(values);
      const data = tryEncode(message);
      if (typeof data !== 'string' && data.length <= maxPayload) this.links.send(subject, data);
      else this.sendSplit(subject, message.slice(headerLength), maxPayload, data);
    }
  }

  /** `records` framed with the header of the next message to `subject` (see `links.ts`), or why a value cannot be cloned. */
  private encode(subject: string, records: readonly unknown[]): Uint8Array | string {
    return tryEncode(this.links.header(subject).concat(records));
  }

  /**
   * Sends records (flat, four values each), `data` once framed and encoded: as one message if it
   * fits in `maxPayload`; else as as many messages as their size asks for (a part still too
   * large, or with a value that cannot be cloned, is split again); a record alone goes by
   * {@link sendRecord}. Each value is encoded about twice, not once per record and once per
   * message: a burst of 40 MB of results held a host's loop for seconds that way.
   */
  private sendSplit(subject: string, records: unknown[], maxPayload: number, data: Uint8Array | string): void {
    if (typeof data !== 'string' && data.length <= maxPayload) return this.links.send(subject, data);
    const count = records.length / 4;
    if (count <= 1) return this.sendRecord(subject, records, maxPayload, data);
    const parts = typeof data === 'string' ? 2 : Math.min(count, Math.ceil(data.length / (maxPayload * 0.9)));
    const per = Math.ceil(count / parts);
    for (let first = 0; first < count; first += per) {
      const part = records.slice(first * 4, (first + per) * 4);
      this.sendSplit(subject, part, maxPayload, this.encode(subject, part));
    }
  }

  /**
   * One record: in pieces if it is larger than `maxPayload`; if it cannot be cloned or is past
   * {@link clusterMessageLimit}, what `unsendable` puts in its place.
   */
  private sendRecord(subject: string, record: unknown[], maxPayload: number, data: Uint8Array | string): void {
    if (typeof data !== 'string' && data.length <= clusterMessageLimit) return this.links.send(subject, data); // in pieces past `maxPayload`
    const why: Unsendable = typeof data === 'string' ? { kind: 'unserializable', reason: data } : tooLarge(data.length, maxPayload);
    const replacement = this.unsendable(subject, record, why);
    if (replacement) this.links.send(subject, encode([...this.links.header(subject), ...replacement]));
  }
}

/**
 * One subject's message being collected: its header's place (filled as it is sent), then its
 * records, in `values[0..length)`. The array is kept from turn to turn (at most
 * {@link spareLimit} values), so that it grows once, not with every message: growing a
 * message record by record allocated three times its size (a ninth of what a host allocated
 * on tiny tasks, as much again when it spread the records behind the header).
 */
interface Batch {
  readonly values: unknown[];
  length: number;
}

/** The largest array of a message kept for the next (values): a burst's is let go. */
const spareLimit = 1 << 16;

/** `message` encoded, or why a value in it cannot be cloned. */
function tryEncode(message: readonly unknown[]): Uint8Array | string {
  try {
    return encode(message);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 1)} MiB`;

/** Why a message of `bytes` cannot cross the cluster. */
function tooLarge(bytes: number, maxPayload: number): Unsendable {
  return {
    kind: 'tooLarge',
    bytes,
    limit: clusterMessageLimit,
    maxPayload,
    reason:
      `it is ${mib(bytes)} once serialized, past the cluster's limit of ${mib(clusterMessageLimit)} ` +
      `(the NATS server's max_payload is ${mib(maxPayload)}; larger messages cross in pieces up to the limit)`,
  };
}

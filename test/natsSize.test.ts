import { firstValueFrom, from, lastValueFrom, filter, toArray } from 'rxjs';
import { createPool, PayloadTooLargeError, type Settled } from 'looppool';
import { nats } from 'looppool/nats';
import { describeWithNats, startHost, type Host } from './support/nats';
import { startRestartableNats, type RestartableNats } from './support/natsServer';
import { workerPath } from './support/paths';
import { streamed, type SizeTask } from './workers/sizes';

const MiB = 1024 * 1024;

/**
 * Values past the server's max_payload (1 MiB by default) cross the cluster in pieces, up to the
 * cluster's limit (64 MiB); past it a task fails at once with PayloadTooLargeError. One server
 * and one host of two threads serve every test of a kind (a host boots in seconds under load).
 */
describeWithNats('nats transport: values of any size', () => {
  describe("the server's default max_payload (1 MiB)", () => {
    let server: RestartableNats;
    let host: Host;
    const pool = `size${process.pid}`;

    beforeAll(async () => {
      server = await startRestartableNats();
      host = startHost(workerPath('sizes.ts'), server.url, pool, ['--threads', '2']);
      await host.printed(/serving pool/);
    });
    afterAll(async () => {
      await host.kill();
      await server.stop();
    });

    /** ackWait is raised where a value of 65 MB is copied and encoded on a loaded machine: this is about size, not silence. */
    const sizePool = (options: { size?: number; workerData?: unknown; ackWait?: number; streamBuffer?: number } = {}) =>
      createPool<SizeTask, unknown>(workerPath('sizes.ts'), {
        size: options.size ?? 1,
        ...(options.workerData === undefined ? {} : { workerData: options.workerData }),
        ...(options.streamBuffer === undefined ? {} : { streamBuffer: options.streamBuffer }),
        transport: nats({ servers: server.url, pool, ackWait: options.ackWait ?? 3_000 }),
      });

    test('a 3 MB task and a 3 MB result cross whole; small tasks go on after them', async () => {
      const pooled = sizePool();
      try {
        await pooled.ready;
        expect(await pooled.run({ kind: 'length', value: 'i'.repeat(3 * MiB) })).toBe(3 * MiB);
        const result = (await pooled.run({ kind: 'make', bytes: 3 * MiB, fill: 'r' })) as string;
        expect(result.length).toBe(3 * MiB);
        expect(result).toBe('r'.repeat(3 * MiB));
        expect(await pooled.run({ kind: 'length', value: 'small' })).toBe(5);
      } finally {
        await pooled.terminate();
      }
    });

    test('workerData, a broadcast and a ctx.emit value of 3 MB each cross whole', async () => {
      const pooled = sizePool({ size: 2, workerData: 'w'.repeat(3 * MiB) });
      try {
        await pooled.ready;
        expect(await pooled.run({ kind: 'workerData' })).toBe(3 * MiB);
        const lengths = firstValueFrom(pooled.results$.pipe(filter((value) => typeof value === 'number'), toArray()));
        const emitted = firstValueFrom(pooled.results$.pipe(filter((value) => typeof value === 'string' && value.startsWith('e'))));
        await pooled.broadcast({ kind: 'length', value: 'b'.repeat(3 * MiB) });
        await pooled.put({ kind: 'emit', bytes: 3 * MiB });
        expect(((await emitted) as string).length).toBe(3 * MiB);
        await pooled.stop();
        expect(await lengths).toEqual([3 * MiB, 3 * MiB]); // once per worker
      } finally {
        await pooled.terminate();
      }
    });

    test('a stream of 20,000 values of 2 KB in one burst (40 MB) arrives complete and in order', async () => {
      // A burst of 40 MB holds the host's loop for seconds on a loaded machine, and a host silent
      // past ackWait is lost (results a host cannot deliver at once do not yet wait at the host,
      // bounded: issue 21's floods). This test is about size: ackWait is raised. The worker's
      // Observable emits all 20,000 at once, past streamWindow + the default streamBuffer (which
      // would fail it with BufferOverflowError, by design): streamBuffer is raised too.
      const pooled = sizePool({ ackWait: 15_000, streamBuffer: 20_000 });
      try {
        await pooled.ready;
        const values = await lastValueFrom(pooled.process(from([{ kind: 'stream', count: 20_000, bytes: 2_048 } as SizeTask])).pipe(toArray()));
        expect(values.length).toBe(20_000);
        expect(values.findIndex((value, i) => value !== streamed(i, 2_048))).toBe(-1);
      } finally {
        await pooled.terminate();
      }
    }, 90_000);

    test('a task and a result past the cluster limit fail at once with PayloadTooLargeError naming the limit and max_payload; the pool goes on', async () => {
      const pooled = sizePool({ ackWait: 15_000 });
      try {
        await pooled.ready;
        const input = await pooled.run({ kind: 'length', value: 'x'.repeat(65 * MiB) }).catch((error: unknown) => error);
        expect(input).toBeInstanceOf(PayloadTooLargeError);
        expect(input).toMatchObject({ subject: 'task', limit: 64 * MiB, maxPayload: MiB, index: 0 });
        expect((input as Error).message).toMatch(/past the limit of 67108864 bytes \(the NATS server's max_payload is 1048576 bytes/);
        expect(await pooled.run({ kind: 'length', value: 'after' })).toBe(5);
        const result = await pooled.run({ kind: 'make', bytes: 65 * MiB, fill: 'y' }).catch((error: unknown) => error);
        expect(result).toBeInstanceOf(PayloadTooLargeError);
        expect(result).toMatchObject({ subject: 'result', limit: 64 * MiB, maxPayload: MiB });
        expect(await pooled.run({ kind: 'length', value: 'after' })).toBe(5);
      } finally {
        await pooled.terminate();
      }
    }, 60_000);
  });

  describe('a server whose max_payload is 64 KiB', () => {
    let server: RestartableNats;
    let host: Host;
    const pool = `small${process.pid}`;

    beforeAll(async () => {
      server = await startRestartableNats({ maxPayload: 64 * 1024 });
      host = startHost(workerPath('sizes.ts'), server.url, pool, ['--threads', '1']);
      await host.printed(/serving pool/);
    });
    afterAll(async () => {
      await host.kill();
      await server.stop();
    });

    test('a 1 MB task and a 1 MB result cross in pieces of its size', async () => {
      const pooled = createPool<SizeTask, unknown>(workerPath('sizes.ts'), { size: 1, transport: nats({ servers: server.url, pool }) });
      try {
        await pooled.ready;
        expect(((await pooled.run({ kind: 'make', bytes: MiB, fill: 'z' })) as string).length).toBe(MiB);
        expect(await pooled.run({ kind: 'length', value: 'q'.repeat(MiB) })).toBe(MiB);
      } finally {
        await pooled.terminate();
      }
    });

    test.each([
      ['unordered', {}],
      ['ordered', { ordered: true }],
      ['settle', { settle: true }],
    ] as const)('streams of 2,000 values of 2 KB (4 MB each) arrive complete and in order (%s)', async (mode, options) => {
      const pooled = createPool<SizeTask, unknown>(workerPath('sizes.ts'), { size: 1, transport: nats({ servers: server.url, pool }) });
      try {
        await pooled.ready;
        const tasks: SizeTask[] = [
          { kind: 'stream', count: 2_000, bytes: 2_048 },
          { kind: 'length', value: 'between' },
          { kind: 'stream', count: 2_000, bytes: 2_048 },
        ];
        const out = await lastValueFrom(pooled.process(from(tasks), options).pipe(toArray()));
        const values = mode === 'settle' ? (out as Array<Settled<SizeTask, unknown>>).map((settled) => (settled.status === 'fulfilled' ? settled.value : settled.reason)) : out;
        const stream = Array.from({ length: 2_000 }, (_, i) => streamed(i, 2_048));
        // One worker runs the three tasks one after the other: the same order in every mode.
        expect(values.length).toBe(4_001);
        expect(values).toEqual([...stream, 7, ...stream]);
      } finally {
        await pooled.terminate();
      }
    });
  });
});

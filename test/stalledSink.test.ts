/**
 * A sink with `ack: 'manual'` that acknowledges only at a commit every N rows, N above
 * `bufferSize`, waits for rows that wait for its `done()`: before `stallThreshold` it stalled
 * for ever in silence. Now the pool says so once, on `errors$`, and again when a drain waits.
 */
import { filter, firstValueFrom, from, timeout } from 'rxjs';
import { createPool, StalledSinkWarning, type Delivery, type LoopPool } from 'looppool';
import { workerPath } from './support/paths';

const echo = workerPath('echo.ts');
/** Far above the threshold, so that a busy machine does not fail the test; before, it waited for ever. */
const patience = 15_000;

function* rows(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

/** A sink that writes rows in a transaction and acknowledges them at its commit, every `every` rows. */
function committingSink(every: number) {
  const held: Array<Delivery<number>> = [];
  const written: number[] = [];
  return {
    written,
    held,
    write(delivery: Delivery<number>): void {
      held.push(delivery);
      written.push(delivery.value);
      if (held.length >= every) this.commit();
    },
    commit(): void {
      for (const delivery of held.splice(0)) delivery.done();
    },
  };
}

const stalled = (pool: LoopPool<number, number, unknown>) =>
  firstValueFrom(pool.errors$.pipe(filter((error) => error instanceof StalledSinkWarning), timeout(patience)));

describe('a stalled sink (ack: manual)', () => {
  let pool: LoopPool<number, number, unknown> | undefined;
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  it('is reported once when a sink commits every N rows, N above bufferSize', async () => {
    pool = createPool<number, number>(echo, { size: 2, bufferSize: 16, stallThreshold: 200 });
    const sink = committingSink(50);
    const warnings: unknown[] = [];
    pool.errors$.subscribe((error) => warnings.push(error));
    const subscription = pool.process(rows(200), { ack: 'manual', ordered: true }).subscribe({ next: (delivery) => sink.write(delivery), error: () => {} });
    const warning = await stalled(pool);
    expect(warning).toMatchObject({ bufferSize: 16, draining: false });
    // In order, the earliest unfinished task may always start, so the sink may hold one more.
    expect(warning.outstanding).toBeGreaterThanOrEqual(16);
    expect(warning.message).toMatch(/bufferSize: 16\).* by \d+ deliveries not yet done\(\).*Call done\(\) on each delivery.*raise bufferSize/);
    expect(sink.written).toHaveLength(warning.outstanding); // the sink held all it got, and got nothing more
    subscription.unsubscribe();
    expect(warnings).toHaveLength(1);
  });

  it('reports the pool’s own results$ stalled the same way', async () => {
    const own = createPool<number, number>(echo, { size: 2, bufferSize: 4, stallThreshold: 200, ack: 'manual' });
    pool = own;
    const sink = committingSink(10);
    own.results$.subscribe((delivery) => sink.write(delivery as Delivery<number>));
    for (const row of rows(20)) void own.put(row);
    const warning = await stalled(own);
    expect(warning).toMatchObject({ bufferSize: 4, outstanding: 4, draining: false });
  });

  it('says that a drain waits on deliveries not done, and stops once they are', async () => {
    pool = createPool<number, number>(echo, { size: 2, bufferSize: 8, stallThreshold: 200 });
    const sink = committingSink(1_000);
    // Pushed: every input is taken at once, so the drain must run them all, and they wait for done().
    const results = pool.process(from([...rows(30)]), { ack: 'manual' }).subscribe({ next: (delivery) => sink.write(delivery), error: () => {} });
    await stalled(pool);
    const stopped = pool.stop();
    const warning = await stalled(pool);
    expect(warning).toMatchObject({ bufferSize: 8, outstanding: 8, draining: true });
    expect(warning.message).toMatch(/^The pool is stopping and waits for 8 deliveries not yet done\(\)/);
    expect(sink.written).toHaveLength(8);
    sink.commit(); // the drain goes on; the next 8 are acknowledged as they come
    const drain = setInterval(() => sink.commit(), 5);
    await stopped;
    clearInterval(drain);
    expect(sink.written.sort((a, b) => a - b)).toEqual([...rows(30)]); // every input taken was run and delivered
    results.unsubscribe();
  });

  it('rejects a stallThreshold that is not a positive integer of milliseconds, and on the operator, where acks are automatic', () => {
    expect(() => createPool(echo, { stallThreshold: 0 })).toThrow(RangeError);
    expect(() => createPool(echo, { stallThreshold: '5s' as never })).toThrow(TypeError);
  });
});

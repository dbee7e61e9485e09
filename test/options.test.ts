import { createPool, loopPool, type LoopPool } from 'looppool';
import { inlineWorker } from 'looppool/testing';

/** Option validation needs no thread: every rule throws synchronously from loopPool(...). */
describe('loopPool validates its arguments at once', () => {
  const worker = './worker.js';

  it.each([
    [0, RangeError, 'Expected `size` to be a positive integer, got 0 (number)'],
    [-1, RangeError, 'Expected `size` to be a positive integer, got -1 (number)'],
    [1.5, RangeError, 'Expected `size` to be a positive integer, got 1.5 (number)'],
    [Infinity, RangeError, 'Expected `size` to be a positive integer, got Infinity (number)'],
    [NaN, RangeError, 'Expected `size` to be a positive integer, got NaN (number)'],
  ])('size %p', (size, type, message) => {
    expect(() => loopPool(worker, size)).toThrow(type);
    expect(() => loopPool(worker, size)).toThrow(message);
  });

  it('size given as a string in options', () => {
    expect(() => loopPool(worker, { size: '2' as unknown as number })).toThrow(
      new TypeError('Expected `size` to be a positive integer, got "2" (string)'),
    );
  });

  it('concurrency', () => {
    expect(() => loopPool(worker, { concurrency: 0 })).toThrow(
      new RangeError('Expected `concurrency` to be a positive integer, got 0 (number)'),
    );
  });

  it('bufferSize', () => {
    expect(() => loopPool(worker, { bufferSize: 0.5 })).toThrow(
      new RangeError('Expected `bufferSize` to be a positive integer, got 0.5 (number)'),
    );
  });

  it('ordered', () => {
    expect(() => loopPool(worker, { ordered: 'yes' as unknown as boolean })).toThrow(
      new TypeError('Expected `ordered` to be a boolean, got "yes" (string)'),
    );
  });

  // Node keeps a timer of at most 2^31 - 1 ms; a longer one fires after 1 ms, which would time
  // every task out at once and kill healthy workers.
  it.each(['taskTimeout', 'gracePeriod', 'statsInterval', 'blockingThreshold'] as const)(
    '%s: at most 2^31 - 1 ms, the longest timer Node keeps',
    (name) => {
      for (const make of [() => loopPool(worker, { [name]: 2 ** 31 }), () => createPool(worker, { [name]: 2 ** 31 })]) {
        expect(make).toThrow(RangeError);
        expect(make).toThrow(
          `Expected \`${name}\` to be a ${name === 'gracePeriod' ? 'non-negative' : 'positive'} integer of milliseconds, at most 2147483647 (2^31 - 1, the longest timer Node keeps; longer ones fire at once), got 2147483648 (number)`,
        );
      }
      expect(typeof loopPool(worker, { [name]: 2 ** 31 - 1 })).toBe('function');
    },
  );

  it('metrics.interval: at most 2^31 - 1 ms', () => {
    expect(() => loopPool(worker, { metrics: { statsd: {}, interval: 2 ** 31 } })).toThrow(/`metrics.interval`.*at most 2147483647/);
  });

  it('an unknown option, such as a typo, with the nearest valid name', () => {
    expect(() => loopPool(worker, { sise: 2 } as never)).toThrow(TypeError);
    expect(() => loopPool(worker, { sise: 2 } as never)).toThrow(
      /^Unknown option `sise`; did you mean `size`\? Expected one of: size, concurrency, queueSize, ordered, bufferSize, .*, transfer$/,
    );
  });

  it.each([
    ['concurency', 'concurrency'],
    ['Concurrency', 'concurrency'],
    ['buffer_size', 'bufferSize'],
    ['workerdata', 'workerData'],
    ['timeout', 'taskTimeout'],
    ['maxRestart', 'maxRestarts'],
  ])('suggests for %p: did you mean `%s`?', (typo, meant) => {
    expect(() => loopPool(worker, { [typo]: 1 } as never)).toThrow(`Unknown option \`${typo}\`; did you mean \`${meant}\`?`);
  });

  it('an unknown option far from every valid name, with no suggestion', () => {
    expect(() => loopPool(worker, { xyz: 1 } as never)).toThrow(/^Unknown option `xyz`; expected one of: size, /);
  });

  it('createPool suggests too, and knows its own `ack`', () => {
    expect(() => createPool(worker, { akc: 'manual' } as never)).toThrow('Unknown option `akc`; did you mean `ack`?');
  });

  it('a second argument that is neither a size nor an object', () => {
    expect(() => loopPool(worker, 'four' as never)).toThrow(
      new TypeError('Expected the second argument to be a size or an options object, got "four" (string)'),
    );
    expect(() => loopPool(worker, null as never)).toThrow(TypeError);
  });

  it('a worker that is not a path or a file: URL', () => {
    expect(() => loopPool(42 as never)).toThrow(
      new TypeError('Expected `worker` to be a module path or a file: URL, got 42 (number)'),
    );
    expect(() => loopPool('')).toThrow(new TypeError('Expected `worker` to be a module path or a file: URL, got "" (string)'));
    expect(() => loopPool(new URL('https://example.com/worker.js'))).toThrow(
      new TypeError('Expected `worker` to be a file: URL, got https://example.com/worker.js (https: URL)'),
    );
  });

  it('accepts a size alone, options, or nothing', () => {
    expect(typeof loopPool(worker)).toBe('function');
    expect(typeof loopPool(worker, 3)).toBe('function');
    expect(typeof loopPool(worker, { size: 2, concurrency: 4, ordered: true, bufferSize: 8, workerData: {} })).toBe(
      'function',
    );
  });
});

/** The options of a pool's calls are checked as the pool's are: unknown names throw, with a suggestion. */
describe('a pool validates the options of its calls at once', () => {
  let pool: LoopPool<number, number> | undefined;
  beforeEach(() => {
    pool = createPool(inlineWorker((x: number) => x), 2);
  });
  afterEach(async () => {
    await pool?.terminate();
    pool = undefined;
  });

  it('put: an unknown option, such as Looppool\'s `worker_num`', () => {
    expect(() => pool!.put(1, { worker_num: 1 } as never)).toThrow(
      new TypeError('Unknown option `worker_num` of pool.put(task, options); did you mean `worker`? Expected one of: worker'),
    );
  });

  it('put: options that are not an object', () => {
    expect(() => pool!.put(1, 1 as never)).toThrow(
      new TypeError('Expected the options of pool.put(task, options) to be an object, got 1 (number)'),
    );
  });

  it('broadcast: an unknown option, and a key that is not a string', () => {
    expect(() => pool!.broadcast(1, { kye: 'a' } as never)).toThrow(
      new TypeError('Unknown option `kye` of pool.broadcast(task, options); did you mean `key`? Expected one of: key'),
    );
    expect(() => pool!.broadcast(1, { key: 1 } as never)).toThrow(new TypeError('Expected `key` to be a string, got 1 (number)'));
  });

  it('process: an unknown option, and a pool option', () => {
    expect(() => pool!.process([1], { orderd: true } as never)).toThrow(
      new TypeError(
        'Unknown option `orderd` of pool.process(input, options); did you mean `ordered`? Expected one of: ordered, bufferSize, overflow, settle, ack',
      ),
    );
    expect(() => pool!.process([1], { size: 2 } as never)).toThrow(
      new TypeError('`size` belongs to the pool: set it in createPool(...), not in pool.process(input, options)'),
    );
  });
});

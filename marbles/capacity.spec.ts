import { Capacity, mostAhead, mostBytes, sampleEvery, weigh } from '../src/engine/capacity';

/** A capacity on a clock the spec moves: `end(n, ms)` ends `n` tasks over `ms` milliseconds. */
function capacity(concurrency: number, least: number, windowMs: number | undefined) {
  let clock = 0;
  const subject = new Capacity(concurrency, least, windowMs, () => clock);
  return {
    subject,
    end(tasks: number, ms: number) {
      for (let i = 0; i < tasks; i++) {
        clock += ms / tasks;
        subject.taskEnded();
      }
    },
  };
}

describe('Capacity: how many tasks one worker may hold', () => {
  it('with an explicit queueSize (no window), exactly concurrency + queueSize, whatever the rate', () => {
    const { subject, end } = capacity(2, 3, undefined);
    expect(subject.limit).toBe(5);
    end(10 * sampleEvery, 1);
    expect(subject.limit).toBe(5);
  });

  it('adapting, starts from the least and covers the window at the measured rate', () => {
    const { subject, end } = capacity(1, 1, 4);
    expect(subject.limit).toBe(2);
    end(1, 0); // the first end starts the clock
    end(sampleEvery, 2); // 32 tasks a millisecond: 128 cover 4 ms
    expect(subject.limit).toBe(1 + 128);
  });

  it('gives slow tasks the least, so that uneven work still spreads over the workers', () => {
    const { subject, end } = capacity(1, 1, 4);
    end(1, 0);
    end(sampleEvery, 1); // 64 tasks a millisecond: 256 cover 4 ms
    expect(subject.limit).toBe(1 + 256);
    end(sampleEvery, sampleEvery * 5); // 5 ms tasks
    expect(subject.limit).toBe(2);
  });

  it(`never holds more than ${mostAhead} at hand: memory stays bounded`, () => {
    const { subject, end } = capacity(4, 4, 20);
    end(1 + sampleEvery, 0.01);
    expect(subject.limit).toBe(4 + mostAhead);
  });
});

describe('Capacity: the bytes one adaptive worker may hold', () => {
  it(`past the least, stops handing ahead once ${mostBytes} bytes are held; small inputs still go ${mostAhead} ahead`, () => {
    const { subject, end } = capacity(1, 1, 20);
    end(1 + sampleEvery, 0.01); // fast: the rate allows mostAhead
    const hold = (input: unknown): number => {
      let held = 0;
      while (subject.hasRoom(held)) {
        subject.taken(input);
        held++;
      }
      return held;
    };
    expect(hold('x'.repeat(1024 * 1024))).toBe(8);
  });

  it(`holds ${mostAhead} small inputs at the same rate`, () => {
    const { subject, end } = capacity(1, 1, 20);
    end(1 + sampleEvery, 0.01);
    let held = 0;
    while (subject.hasRoom(held)) {
      subject.taken({ id: held, name: 'row' });
      held++;
    }
    expect(held).toBe(1 + mostAhead);
  });

  it('always allows the least, whatever the inputs weigh, and frees bytes as tasks end', () => {
    const { subject, end } = capacity(2, 2, 4);
    end(1 + sampleEvery, 0.01);
    const weights = [0, 1, 2, 3].map(() => subject.taken(new Uint8Array(64 * 1024 * 1024)));
    expect(subject.hasRoom(3)).toBe(true);
    expect(subject.hasRoom(4)).toBe(false);
    for (const bytes of weights) subject.taskEnded(bytes);
    expect(subject.hasRoom(4)).toBe(true);
  });

  it('with an explicit queueSize, weighs nothing: the bound is exact', () => {
    const { subject } = capacity(1, 3, undefined);
    expect(subject.taken('x'.repeat(100 * 1024 * 1024))).toBe(0);
    expect(subject.hasRoom(3)).toBe(true);
    expect(subject.hasRoom(4)).toBe(false);
  });
});

describe('weigh: what an input weighs in flight', () => {
  it('counts strings, binary values, and those one level into plain objects and arrays', () => {
    expect(weigh('abc')).toBe(3);
    expect(weigh(new ArrayBuffer(10))).toBe(10);
    expect(weigh(Buffer.alloc(7))).toBe(7);
    expect(weigh(new Float64Array(4))).toBe(32);
    expect(weigh({ id: 1, text: 'abcd', blob: new Uint8Array(5) })).toBe(9);
    expect(weigh(['ab', 3, new Uint16Array(2)])).toBe(6);
    expect(weigh(42)).toBe(0);
    expect(weigh(null)).toBe(0);
    expect(weigh(new Map([['a', 'b']]))).toBe(0);
    expect(weigh({ nested: { text: 'deep' } })).toBe(0);
  });
});

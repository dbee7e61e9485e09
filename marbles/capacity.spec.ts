import { Capacity, mostAhead, sampleEvery } from '../src/engine/capacity';

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

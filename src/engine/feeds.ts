import type { Job } from './job';
import type { Feed } from './types';

/**
 * Pulls a sync iterable into a job one input at a time, only when a worker can take it, or
 * one that an elastic pool is starting will once ready: the source is never read beyond what
 * the workers will hold, so a generator of ten million rows runs in constant memory.
 */
export function iterableFeed<T>(job: Job<T, unknown>, iterable: Iterable<T>): Feed {
  let iterator: Iterator<T> | undefined;
  let done = false;
  return {
    demand() {
      if (done) return;
      try {
        iterator ??= iterable[Symbol.iterator]();
        const next = iterator.next();
        if (next.done) {
          done = true;
          job.end();
        } else {
          job.push(next.value);
        }
      } catch (error) {
        done = true;
        job.error(error);
      }
    },
    close() {
      if (done) return;
      done = true;
      iterator?.return?.();
    },
  };
}

/**
 * Pulls an async iterable (an async generator, a Node `Readable` in object mode) into a job,
 * keeping at most `readAhead` inputs read and not yet handed to a worker.
 */
export function asyncIterableFeed<T>(job: Job<T, unknown>, iterable: AsyncIterable<T>, readAhead: number): Feed {
  let iterator: AsyncIterator<T> | undefined;
  let reading = false;
  let done = false;
  const read = (): void => {
    if (reading || done || job.waiting >= readAhead) return;
    reading = true;
    let next: Promise<IteratorResult<T>>;
    try {
      iterator ??= iterable[Symbol.asyncIterator]();
      next = Promise.resolve(iterator.next());
    } catch (error) {
      fail(error);
      return;
    }
    next.then(
      (result) => {
        reading = false;
        if (done) return;
        if (result.done) {
          done = true;
          job.end();
          return;
        }
        job.push(result.value);
        read();
      },
      (error: unknown) => fail(error),
    );
  };
  const fail = (error: unknown): void => {
    reading = false;
    if (done) return;
    done = true;
    job.error(error);
  };
  return {
    demand: read,
    close() {
      if (done) return;
      done = true;
      Promise.resolve(iterator?.return?.()).catch(() => {});
    },
  };
}

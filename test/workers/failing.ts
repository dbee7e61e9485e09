import { defineWorker } from 'looppool/worker';

class ParseError extends Error {
  override name = 'ParseError';
  code = 'E_PARSE';
}

/** Fails in the way its task names; anything else is returned. */
export default defineWorker((task: string) => {
  switch (task) {
    case 'throw':
      throw new ParseError('bad record');
    case 'reject':
      return Promise.reject(new RangeError('out of range'));
    case 'throw-string':
      throw 'just a string';
    case 'function-result':
      return () => 'functions cannot be cloned';
    case 'exit':
      process.exit(3);
    case 'uncaught':
      setTimeout(() => {
        throw new Error('thrown in a timer');
      }, 1);
      return new Promise(() => {});
    default:
      return task;
  }
});

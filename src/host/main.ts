#!/usr/bin/env node
/**
 * `looppool-worker`: the worker host, the program each worker of `workerType: 'process'`
 * runs. The pool forks it with an IPC channel (`serialization: 'advanced'`) and tells it which
 * worker module to serve (see `host/protocol.ts`).
 *
 * Like Looppool's workers, it ignores SIGINT and SIGTERM (sent to the whole process group by
 * Ctrl-C or a supervisor): the pool stops it by message, after its tasks' abort handlers. When
 * the pool's process dies, even by SIGKILL, the channel closes and the host exits: no orphans.
 *
 * @module
 */
import { serveWorker } from './serve';

if (typeof process.send !== 'function') {
  process.stderr.write('looppool-worker serves a worker of a looppool pool: it is started by createPool or loopPool with workerType: \'process\', not by hand.\n');
  process.exit(2);
}

const ignore = (): void => {};
process.on('SIGINT', ignore);
process.on('SIGTERM', ignore);
process.on('disconnect', () => process.exit(0));

serveWorker(
  {
    postMessage: (message) => {
      if (process.connected) process.send!(message);
    },
    on: (_event, listener) => process.on('message', listener as (message: unknown) => void),
  },
  (code) => process.exit(code),
);

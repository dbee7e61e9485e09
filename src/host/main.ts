#!/usr/bin/env node
/**
 * `looppool-worker`: the worker host, the program each worker of `workerType: 'process'`
 * runs. The pool forks it with an IPC channel (`serialization: 'advanced'`) and tells it which
 * worker module to serve (see `transport/processProtocol.ts`).
 *
 * Started by hand, `looppool-worker ./image.worker.js --nats nats://host:4222 --pool images
 * --threads 4` serves the pool named `images` through NATS on 4 worker threads (see
 * `host/cli.ts`, `host/cluster.ts` and docs/cluster.md); SIGINT and SIGTERM then stop it
 * gracefully, and a second one at once.
 *
 * A worker process runs in a process group of its own (see `transport/processes.ts`), and like
 * Looppool's workers it also ignores SIGINT and SIGTERM: the pool stops it by message, after
 * its tasks' abort handlers. When the pool's process dies, even by SIGKILL, the channel
 * closes and the host exits: no orphans.
 *
 * @module
 */
import { noop } from '../noop';
import type { Channel } from '../transport/channel';
import { serveWorker } from './serve';

/** The channel to the pool: the IPC channel of a forked host. */
function channel(): Channel | undefined {
  if (typeof process.send !== 'function') return undefined;
  process.on('disconnect', () => process.exit(0));
  return {
    postMessage: (message) => {
      if (process.connected) process.send!(message);
    },
    on: (_event, listener) => process.on('message', listener as (message: unknown) => void),
  };
}

const toPool = channel();
if (!toPool && process.argv.length > 2) {
  // A command line: serve a pool through NATS. Loaded only here: a worker process needs none of it.
  void (require('./cli') as typeof import('./cli')).runCli(process.argv.slice(2));
} else if (!toPool) {
  process.stderr.write(
    "looppool-worker serves a worker of a looppool pool: it is started by createPool or loopPool with workerType: 'process', not by hand.\n" +
      'To serve a pool on other hosts through NATS: looppool-worker <worker module> --nats <url> --pool <name> [--threads <n>] (--help says more).\n',
  );
  process.exit(2);
} else {
  process.on('SIGINT', noop);
  process.on('SIGTERM', noop);
  serveWorker(toPool, (code) => process.exit(code));
}

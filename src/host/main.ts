#!/usr/bin/env node
/**
 * `looppool-worker`: the worker host.
 *
 * - Forked by a pool with `workerType: 'process'`, with an IPC channel (`serialization:
 *   'advanced'`): it serves that one worker (see `host/protocol.ts`). Like Looppool's workers,
 *   it then ignores SIGINT and SIGTERM (sent to the whole process group by Ctrl-C or a
 *   supervisor): the pool stops it by message. When the pool's process dies, even by SIGKILL,
 *   the channel closes and the host exits: no orphans.
 * - Started by hand, `looppool-worker ./image.worker.js --nats nats://host:4222 --pool images
 *   --threads 4`: it serves the pool named `images` through NATS, on 4 worker threads (see
 *   `host/cluster.ts` and docs/cluster.md). SIGINT and SIGTERM stop it gracefully; a second
 *   one stops it at once.
 *
 * @module
 */
import { serveWorker } from './serve';

if (typeof process.send === 'function') {
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
} else {
  // Loaded only here: a worker process needs none of the cluster's code.
  void (require('./cli') as typeof import('./cli')).runCli(process.argv.slice(2));
}

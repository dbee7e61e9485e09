import { dirname, join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { spawn as Spawn, Transfer as TransferFn } from 'threads';

/*
 * threads.js is loaded from its files, not from its package root: `require('threads')`
 * installs process-wide SIGINT and SIGTERM handlers that call `process.exit()`, which would
 * cut short every graceful shutdown of the application that uses looppool.
 */
const threadsDist = dirname(require.resolve('threads'));

/** threads.js `spawn`, loaded without threads.js's signal handlers. */
export const spawn = (require(join(threadsDist, 'master/spawn.js')) as { spawn: typeof Spawn }).spawn;

/** threads.js `Transfer`. */
export const Transfer = (require(join(threadsDist, 'transferable.js')) as { Transfer: typeof TransferFn }).Transfer;

type Listener = (event: { data: unknown }) => void;

/**
 * A Node `worker_threads.Worker` in the shape threads.js's `spawn()` expects. looppool
 * creates the Worker itself, because threads.js would resolve a relative path against the
 * file that calls it (inside looppool), not against the user's directory.
 */
export class ThreadsWorkerShim {
  /** Listeners threads.js added, with their event type and the Node listener that wraps each. */
  private readonly listeners = new Map<Listener, { type: string; wrapped: (data: unknown) => void }>();
  /** Whether the worker's threads.js init message has passed through. */
  private initialized = false;

  constructor(readonly thread: Worker) {
    thread.once('exit', () => this.releaseSpawn());
  }

  addEventListener(type: string, listener: Listener): void {
    const wrapped = (data: unknown): void => {
      if (type === 'message' && (data as { type?: unknown } | null)?.type === 'init') this.initialized = true;
      listener({ data });
    };
    this.listeners.set(listener, { type, wrapped });
    this.thread.on(type, wrapped);
  }

  removeEventListener(type: string, listener: Listener): void {
    const entry = this.listeners.get(listener);
    if (!entry) return;
    this.listeners.delete(listener);
    this.thread.off(type, entry.wrapped);
  }

  postMessage(value: unknown, transferList?: ReadonlyArray<Transferable>): void {
    this.thread.postMessage(value, transferList as never);
  }

  terminate(): Promise<number> {
    return this.thread.terminate();
  }

  /**
   * threads.js's spawn() waits for the init message with a 10 s timer that it clears only on
   * success. When the thread dies before sending it, hand spawn() an empty init message so
   * that the timer is cleared now instead of keeping the process alive for 10 s.
   */
  private releaseSpawn(): void {
    if (this.initialized) return;
    this.initialized = true;
    const init = { type: 'init', exposed: { type: 'module', methods: [] } };
    for (const [listener, { type }] of this.listeners) if (type === 'message') listener({ data: init });
  }
}

/** `Transferable` as threads.js declares it, without the DOM library. */
type Transferable = object;

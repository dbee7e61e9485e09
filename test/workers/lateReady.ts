import { parentPort } from 'node:worker_threads';

/**
 * The stream worker (see stream.ts), on a thread whose bootstrap's answer never reaches the
 * pool: from the moment this module loads, what the thread would post on `parentPort` is held
 * back. The worker still takes tasks and streams results on its own
 * MessagePort, so the pool sees results from a worker it still counts as starting, as it does
 * when the answer is merely late on a busy machine. In a worker process (no parentPort) it is
 * the stream worker unchanged.
 */
if (parentPort) parentPort.postMessage = () => undefined;

export { default } from './stream';

/**
 * The entry module of every looppool thread. The pool posts it one message first: the
 * MessagePort that tasks travel on and the {@link WorkerSetup}. It then loads the user's worker
 * module, runs `init`, and answers on `parentPort` whether the worker serves tasks on that port.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { readySlot, serializeError, type ConnectResult, type WorkerSetup } from '../transport/protocol';
import { startRuntime } from './start';

async function connect(port: MessagePort, setup: WorkerSetup): Promise<ConnectResult> {
  const activity = new Int32Array(setup.activity);
  const runtime = await startRuntime(port, { ...setup, workerData, activity }, (code) => process.exit(code));
  if ('reason' in runtime) return { ok: false, ...runtime };
  // Take tasks only after this answer is posted. The answer travels on another channel than the
  // tasks' results, so the main thread may still see the thread exit, or its results, first:
  // the ready slot tells it that the worker had loaded. A pool that terminated the worker while
  // it loaded has set the slot to -1: the worker takes no task (a task cut at once would lose
  // its finally), and the pool ends it.
  if (Atomics.compareExchange(activity, readySlot, 0, 1) !== 0) return { ok: false, reason: 'the pool stopped the worker while it loaded' };
  setImmediate(() => runtime.listen());
  if (setup.heartbeat) beat(new Float64Array(setup.heartbeat), setup.heartbeatEvery);
  return { ok: true };
}

/** Writes the time into `heartbeat[0]` at every turn of the loop that a timer gets: a blocked loop stops writing. */
function beat(heartbeat: Float64Array, every: number): void {
  heartbeat[0] = Date.now();
  setInterval(() => (heartbeat[0] = Date.now()), every).unref();
}

// Listening for the thread's whole life keeps a thread that failed to start alive until the pool ends it.
parentPort!.on('message', ({ port, setup }: { port: MessagePort; setup: WorkerSetup }) => {
  const answer = (connected: ConnectResult): void => parentPort!.postMessage({ connected });
  connect(port, setup).then(answer, (error: unknown) => answer({ ok: false, reason: 'the thread did not start', error: serializeError(error) }));
});

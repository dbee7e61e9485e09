/**
 * The entry module of every looppool thread. It exposes `connect` through threads.js at
 * once, so threads.js's spawn() sees its init message before any user code runs; `connect`
 * then loads the user's worker module, runs `init`, and serves tasks on the MessagePort it
 * was given.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { expose } from 'threads/worker';
import { readySlot, serializeError, type SerializedError, type WorkerSetup } from '../transport/protocol';
import type { WorkerDefinition } from './definition';
import { openRegistry } from './registry';
import { WorkerRuntime } from './runtime';

/** What `connect` answers: the worker is serving, or why it is not. */
export type ConnectResult = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly error?: SerializedError };

type AnyDefinition = WorkerDefinition<unknown, unknown, unknown>;

async function connect(port: MessagePort, setup: WorkerSetup): Promise<ConnectResult> {
  let definition: AnyDefinition;
  try {
    definition = await loadDefinition(setup.modulePath);
  } catch (error) {
    return failure(error instanceof DefinitionError ? error.message : 'the module threw while loading', error);
  }
  const activity = new Int32Array(setup.activity);
  const runtime = new WorkerRuntime(
    port,
    definition,
    setup.index,
    workerData as unknown,
    setup.concurrency,
    activity,
    () => process.exit(0),
  );
  // threads.js keeps a worker alive after an uncaught error; looppool ends it, as Node would,
  // and tells the main thread why, so the crash is reported and not left half-alive.
  const die = (error: unknown): void => {
    runtime.reportFatal(error);
    process.exit(1);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  // A task that calls process.exit() must not take the results of earlier tasks with it.
  process.on('exit', runtime.flush);
  try {
    await runtime.start();
  } catch (error) {
    return failure('init threw', error);
  }
  // Take tasks only after threads.js has posted this answer. The answer travels on another
  // channel than the tasks' results, so the main thread may still see the thread exit first:
  // the ready slot tells it that the worker had loaded.
  Atomics.store(activity, readySlot, 1);
  setImmediate(() => runtime.listen());
  if (setup.heartbeat) beat(new Float64Array(setup.heartbeat), setup.heartbeatEvery);
  return { ok: true };
}

async function loadDefinition(modulePath: string): Promise<AnyDefinition> {
  const registry = openRegistry();
  if (/\.m[jt]s$/.test(modulePath)) {
    await import(pathToFileURL(modulePath).href);
  } else {
    try {
      require(modulePath);
    } catch (error) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      if (code === 'MODULE_NOT_FOUND' && String(message).includes(`'${modulePath}'`)) {
        throw new DefinitionError('no such module');
      }
      if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw error;
      await import(pathToFileURL(modulePath).href);
    }
  }
  const [definition, ...more] = registry.definitions;
  if (!definition) throw new DefinitionError('the module did not call defineWorker() at its top level');
  if (more.length > 0) {
    throw new DefinitionError(`the module called defineWorker() ${more.length + 1} times; call it once`);
  }
  return definition;
}

class DefinitionError extends Error {}

/** Writes the time into `heartbeat[0]` at every turn of the loop that a timer gets: a blocked loop stops writing. */
function beat(heartbeat: Float64Array, every: number): void {
  heartbeat[0] = Date.now();
  setInterval(() => (heartbeat[0] = Date.now()), every).unref();
}

function failure(reason: string, error: unknown): ConnectResult {
  return error instanceof DefinitionError ? { ok: false, reason } : { ok: false, reason, error: serializeError(error) };
}

expose({ connect });

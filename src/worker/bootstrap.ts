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
    setup.followContinuations,
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
  const file = modulePath.split(/[\\/]/).pop() ?? modulePath;
  /** The module itself is missing (not a module it imports). */
  const missing = (code: unknown, message: unknown): boolean =>
    (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && String(message).includes(`'${modulePath}'`);
  /** Why Node could not parse a TypeScript module, when that is the reason, as what to do about it. */
  const typescriptAdvice = (error: unknown): string | undefined => {
    if (!/\.[cm]?ts$/.test(modulePath)) return undefined;
    const { code } = error as { code?: unknown };
    if (code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
      return (
        'Node strips TypeScript types but cannot run syntax that needs transforming (enum, namespace, parameter properties): ' +
        'rewrite it as erasable syntax, or register tsx (`node --import tsx`)'
      );
    }
    if (code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING') {
      return 'Node does not strip types of files under node_modules: register tsx (`node --import tsx`), or point the pool at compiled JavaScript';
    }
    // A loader (tsx) registers a handler for .ts files; Node's own type stripping shows in process.features.
    const loaded =
      typeof (require.extensions as Record<string, unknown>)['.ts'] === 'function' ||
      Boolean((process.features as { typescript?: unknown }).typescript);
    if (loaded || !(error instanceof SyntaxError || code === 'ERR_UNKNOWN_FILE_EXTENSION')) return undefined;
    return (
      'a TypeScript module, and no TypeScript loader is registered in this process: register tsx ' +
      "(`node --import tsx main.ts`, or NODE_OPTIONS='--import tsx'), run on a Node version that strips types " +
      '(22.18+, 23.6+, 24+), or point the pool at the compiled .js file'
    );
  };
  const load = async (): Promise<void> => {
    if (/\.m[jt]s$/.test(modulePath)) {
      await import(pathToFileURL(modulePath).href);
      return;
    }
    try {
      require(modulePath);
    } catch (error) {
      const { code } = error as { code?: unknown };
      if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw error;
      await import(pathToFileURL(modulePath).href);
    }
  };
  try {
    await load();
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (missing(code, message)) {
      throw new DefinitionError(
        `no such module. A relative worker path resolves from process.cwd() (${process.cwd()}), not from the calling file; ` +
          `resolve it from the calling file: new URL('./${file}', import.meta.url) in an ES module, ` +
          `join(__dirname, '${file}') in CommonJS`,
      );
    }
    const advice = typescriptAdvice(error);
    if (advice) throw new DefinitionError(advice, { cause: error });
    throw error;
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
  if (!(error instanceof DefinitionError)) return { ok: false, reason, error: serializeError(error) };
  // A DefinitionError's message is the reason; its cause, if it has one, is what Node threw.
  return error.cause === undefined ? { ok: false, reason } : { ok: false, reason, error: serializeError(error.cause) };
}

expose({ connect });

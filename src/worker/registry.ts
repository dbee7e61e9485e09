import { fileURLToPath } from 'node:url';
import type { WorkerDefinition } from './definition';

/**
 * Where `defineWorker` leaves its definition for the thread that loads the module. It lives
 * on `globalThis` under a registered symbol, so it is found even when the worker module
 * imports another copy of looppool (an ES module beside this CommonJS build, say).
 */
interface Registry {
  /** Definitions registered since the thread opened the registry; one is expected. */
  readonly definitions: Array<WorkerDefinition<unknown, unknown, unknown>>;
  /** The file of each `defineWorker` call, in the same order (`undefined` where unknown, or from an older copy of looppool). */
  readonly callers?: Array<string | undefined>;
}

const registryKey = Symbol.for('looppool.worker.registry');
type GlobalWithRegistry = typeof globalThis & { [registryKey]?: Registry };

/** Opens the registry before the worker module loads; only a looppool thread does this. */
export function openRegistry(): Registry {
  const registry: Registry = { definitions: [], callers: [] };
  (globalThis as GlobalWithRegistry)[registryKey] = registry;
  return registry;
}

/**
 * Records a definition if this thread is a looppool worker, with the file that called
 * `caller` (`defineWorker`), so that a module that imports another worker module is named;
 * elsewhere it does nothing.
 */
export function register(definition: WorkerDefinition<unknown, unknown, unknown>, caller: Function): void {
  const registry = (globalThis as GlobalWithRegistry)[registryKey];
  if (!registry) return;
  registry.callers?.push(callerFile(caller));
  registry.definitions.push(definition);
}

/** The file of the code that called `fn`, from V8's structured stack trace. */
function callerFile(fn: Function): string | undefined {
  const prepare = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_, sites) => sites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, fn);
    const file = holder.stack?.[0]?.getFileName() ?? undefined;
    return file?.startsWith('file:') ? fileURLToPath(file) : file;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = prepare;
  }
}

import type { WorkerDefinition } from './definition';

/**
 * Where `defineWorker` leaves its definition for the thread that loads the module. It lives
 * on `globalThis` under a registered symbol, so it is found even when the worker module
 * imports another copy of looppool (an ES module beside this CommonJS build, say).
 */
interface Registry {
  /** Definitions registered since the thread opened the registry; one is expected. */
  readonly definitions: Array<WorkerDefinition<unknown, unknown, unknown>>;
}

const registryKey = Symbol.for('looppool.worker.registry');
type GlobalWithRegistry = typeof globalThis & { [registryKey]?: Registry };

/** Opens the registry before the worker module loads; only a looppool thread does this. */
export function openRegistry(): Registry {
  const registry: Registry = { definitions: [] };
  (globalThis as GlobalWithRegistry)[registryKey] = registry;
  return registry;
}

/** Records a definition if this thread is a looppool worker; elsewhere it does nothing. */
export function register(definition: WorkerDefinition<unknown, unknown, unknown>): void {
  (globalThis as GlobalWithRegistry)[registryKey]?.definitions.push(definition);
}

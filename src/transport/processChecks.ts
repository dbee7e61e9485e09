import type { ResourceLimits } from 'node:worker_threads';

/**
 * What a worker process cannot take: shared memory in `workerData`, and the limits of
 * `resourceLimits` that have no Node flag (only the heap limits become the child's flags).
 */
export function checkForProcesses(options: { readonly workerData?: unknown; readonly resourceLimits?: ResourceLimits | undefined }): void {
  const shared = findSharedMemory(options.workerData, 'workerData');
  if (shared) {
    throw new TypeError(
      `Expected \`workerData\` to hold no SharedArrayBuffer with workerType 'process', got one at ${shared}: ` +
        "a worker process shares no memory with the pool. Send an ArrayBuffer (it is copied), or use workerType 'thread'",
    );
  }
  for (const name of ['codeRangeSizeMb', 'stackSizeMb']) {
    if ((options.resourceLimits as Record<string, unknown> | undefined)?.[name] !== undefined) {
      throw new TypeError(
        `\`resourceLimits.${name}\` applies to worker threads only; with workerType 'process' set ` +
          'maxOldGenerationSizeMb or maxYoungGenerationSizeMb (they become the child\'s --max-old-space-size and --max-semi-space-size)',
      );
    }
  }
}

/** Where in `value` a SharedArrayBuffer is (a path such as `workerData.counters`), if anywhere. */
export function findSharedMemory(value: unknown, path: string, seen = new Set<object>()): string | undefined {
  if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
  seen.add(value);
  if (value instanceof SharedArrayBuffer) return path;
  if (ArrayBuffer.isView(value)) return value.buffer instanceof SharedArrayBuffer ? path : undefined;
  if (value instanceof Map) {
    for (const [key, entry] of value) {
      const found = findSharedMemory(key, `${path}.keys()`, seen) ?? findSharedMemory(entry, `${path}.get(${String(key)})`, seen);
      if (found) return found;
    }
    return undefined;
  }
  if (value instanceof Set) {
    for (const entry of value) {
      const found = findSharedMemory(entry, `${path}.values()`, seen);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, entry] of Object.entries(value)) {
    const found = findSharedMemory(entry, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, seen);
    if (found) return found;
  }
  return undefined;
}

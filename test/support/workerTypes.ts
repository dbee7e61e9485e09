import type { WorkerType } from 'looppool';

/**
 * The worker types the shared suites run on: `describe.each(workerTypes)('... (%s)', (workerType) => ...)`
 * runs each test on worker threads, then on worker processes, through the same code.
 */
export const workerTypes: readonly WorkerType[] = ['thread', 'process'];

/**
 * `it` for a test whose workers report to it through shared memory (a `SharedArrayBuffer` in
 * `workerData`, which a worker process refuses), or whose outcome rests on what only shared
 * memory tells (which of several tasks holds a worker's loop): it runs on threads and is
 * skipped on processes.
 */
export const itSharing = (workerType: WorkerType): jest.It => (workerType === 'thread' ? it : it.skip);

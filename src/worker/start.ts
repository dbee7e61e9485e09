import type { Channel } from '../transport/channel';
import type { LoadFailure, WorkerSetup } from '../transport/protocol';
import { endOnFatal } from './fatal';
import { loadFailure, loadDefinition } from './load';
import { WorkerRuntime } from './runtime';

/** What a worker's runtime starts from: a thread's `WorkerSetup` or a process's `ProcessSetup`, with its `workerData` and activity words (see `WorkerSetup.activity`). */
export type RuntimeStart = Pick<WorkerSetup, 'modulePath' | 'index' | 'concurrency' | 'followContinuations' | 'pace'> & {
  readonly workerData: unknown;
  readonly activity: Int32Array;
};

/**
 * Starts one worker, in a thread or a worker process alike: loads its module, builds its
 * runtime on `channel`, ends it on an uncaught error as Node would, after telling the pool why
 * (`endOnFatal`), and runs `init`.
 * @param exit ends the thread or process with the given code.
 * @returns the runtime, ready to listen, or why the worker did not start.
 */
export async function startRuntime(channel: Channel, start: RuntimeStart, exit: (code: number) => void): Promise<WorkerRuntime<unknown, unknown, unknown> | LoadFailure> {
  let definition;
  try {
    definition = await loadWatched(start.modulePath);
  } catch (error) {
    return loadFailure(error);
  }
  const { index, workerData, concurrency, followContinuations, activity, pace } = start;
  const runtime = new WorkerRuntime(channel, definition, index, workerData, concurrency, followContinuations, activity, () => exit(0), pace);
  endOnFatal(runtime, exit);
  try {
    await runtime.start();
  } catch (error) {
    return loadFailure(error, 'init threw');
  }
  return runtime;
}

/**
 * Loads the worker's module; an uncaught exception or unhandled rejection while it loads (a
 * timer or a promise the module started) fails the load with that error, in a thread as in a
 * process, instead of being swallowed or ending the worker without a word.
 */
async function loadWatched(modulePath: string): ReturnType<typeof loadDefinition> {
  let fail!: (error: unknown) => void;
  const thrown = new Promise<never>((_, reject) => (fail = reject));
  process.on('uncaughtException', fail).on('unhandledRejection', fail);
  try {
    return await Promise.race([loadDefinition(modulePath), thrown]);
  } finally {
    process.off('uncaughtException', fail).off('unhandledRejection', fail);
  }
}

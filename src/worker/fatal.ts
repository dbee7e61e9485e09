import type { WorkerRuntime } from './runtime';

/**
 * Ends the worker on an uncaught exception or rejection, as Node would end a program, after
 * telling the pool why (so that the crash is reported with its cause, not left half-alive);
 * and posts what is waiting when the worker exits, so that a task that calls
 * `process.exit()` does not take the results of earlier tasks with it.
 */
export function endOnFatal(runtime: WorkerRuntime<unknown, unknown, unknown>, exit: (code: number) => void): void {
  const die = (error: unknown): void => {
    runtime.reportFatal(error);
    exit(1);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  process.on('exit', runtime.flush);
}

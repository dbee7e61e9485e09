import { PoolClosedError } from '../errors';
import { noop } from '../noop';
import type { WorkerExit } from './transport';

/**
 * A port's `ready`, settled once, the same way by every port: resolved when the worker has run
 * `init`, rejected with the {@link WorkerExit} when it never will, and rejected with a
 * `PoolClosedError` when the port is terminated first, so that nobody awaits a worker that
 * will not come.
 */
export class Readiness {
  readonly promise: Promise<void>;
  /** Set until the promise is settled. */
  private settle: { resolve(): void; reject(reason: unknown): void } | undefined;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.promise.catch(noop); // the failure is reported through the port's listener
  }

  /** Whether it is still to be settled: the worker is starting. */
  get pending(): boolean {
    return this.settle !== undefined;
  }

  /** The worker is ready. */
  resolve(): void {
    this.settle?.resolve();
    this.settle = undefined;
  }

  /** The worker will never be ready. */
  fail(exit: WorkerExit<unknown>): void {
    this.settle?.reject(exit);
    this.settle = undefined;
  }

  /** The port was terminated before its worker was ready. */
  terminated(): void {
    this.settle?.reject(new PoolClosedError('The worker was stopped before it was ready'));
    this.settle = undefined;
  }
}

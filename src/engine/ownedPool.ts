import { Observable, type OperatorFunction } from 'rxjs';
import type { ResolvedOptions } from '../options';
import type { Transport } from '../transport/transport';
import { Engine } from './engine';
import { PoolClosedError } from '../errors';
import { stopOnSignals } from '../signals';
import { Monitor } from '../metrics/monitor';
import { runPipeline } from './pipeline';

/**
 * The operator over a pool of its own: each subscription starts its workers, feeds them the
 * source, and stops them when it ends (complete, error or unsubscribe). With `stopOnSignals`,
 * SIGINT or SIGTERM stops taking input and lets the tasks taken finish; the output then errors
 * with `PoolClosedError` (or completes, if the source had ended). With `onStats`, `metrics` or
 * `blockingThreshold`, the subscription's pool is monitored as a long-lived pool is.
 */
export function ownedPool<T, R>(
  transport: () => Transport<T, R>,
  options: ResolvedOptions,
  workerName: string,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const watched = options.onStats !== undefined || options.metrics !== undefined || options.blockingThreshold !== undefined;
      let monitor: Monitor<T, R> | undefined;
      const engine = new Engine<T, R>(transport(), options, workerName, {
        emitted: (value) => subscriber.next(value),
        failed: (error) => subscriber.error(error),
        // Something a worker could not send fails nothing: to onError, else a process warning.
        warned: (error) => (options.onError ? options.onError(error) : process.emitWarning(error)),
        reported: options.onError,
        // Only stats and metrics need task durations; timing costs a little on every task.
        measured: options.onStats || options.metrics ? (ms) => monitor?.taskEnded(ms) : undefined,
      });
      if (watched) monitor = new Monitor(engine, engine, options, () => 0, (warning) => options.onError?.(warning));
      const pipeline = subscriber.closed
        ? undefined
        : runPipeline(engine, source, subscriber, { ...options, ack: 'auto', readAhead: 0 });
      const unwireSignals =
        options.stopOnSignals && pipeline
          ? stopOnSignals(
              (signal) => pipeline.stopInputs(new PoolClosedError(`Stopped by ${signal} before the source completed; every input taken was processed`)),
              async () => subscriber.unsubscribe(),
            )
          : () => {};
      return () => {
        unwireSignals();
        pipeline?.teardown();
        void engine.terminate().then(() => monitor?.stop());
      };
    });
}

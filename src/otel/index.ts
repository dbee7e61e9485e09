/**
 * `looppool/otel`: OpenTelemetry in workers. The pool itself traces with no call: when
 * `@opentelemetry/api` is installed and a tracer provider is registered in the pool's process,
 * each task gets a `looppool.task` span (each attempt a `looppool.attempt` span under it), and
 * its context travels to the worker with the task, active while `process()` runs.
 *
 * @packageDocumentation
 */
import { otelApi } from './api';
import type { SpanRecord } from './record';
import { AsyncLocalContextManager, RelayTracerProvider } from './workerTracer';
import { canSendSpans, sendSpans } from '../worker/trace';

/**
 * For workers without an OpenTelemetry SDK of their own: call it in a worker's `init`. It
 * registers, in the worker, a context manager (so the task's trace context stays active in
 * its continuations) and a tracer provider whose spans, when they end, are sent to the pool's
 * process with the worker's other messages and exported there, by the tracer provider
 * registered there: one exporter for the whole pool. A worker that has registered its own
 * SDK keeps it (this then returns false).
 *
 * ```ts
 * import { defineWorker } from 'looppool/worker';
 * import { registerWorkerTracing } from 'looppool/otel';
 * import { trace } from '@opentelemetry/api';
 *
 * export default defineWorker({
 *   init: () => registerWorkerTracing(),
 *   process: (url: string) => trace.getTracer('fetcher').startActiveSpan('fetch', async (span) => {
 *     try { return (await fetch(url)).status; } finally { span.end(); }
 *   }),
 * });
 * ```
 *
 * @returns true if it registered them, false if the worker already had a tracer provider.
 * @throws TypeError when `@opentelemetry/api` is not installed, or when called outside a worker.
 */
export function registerWorkerTracing(): boolean {
  const api = otelApi();
  if (!api) {
    throw new TypeError("registerWorkerTracing needs the package '@opentelemetry/api', which is not installed: run `npm install @opentelemetry/api`");
  }
  if (!canSendSpans()) {
    throw new TypeError("registerWorkerTracing() is for a worker: call it in the worker module's init, not in the pool's process");
  }
  let pending: SpanRecord[] = [];
  const send = (record: SpanRecord): void => {
    // Spans ended in one turn go together, in the worker's next message.
    if (pending.push(record) > 1) return;
    queueMicrotask(() => {
      const records = pending;
      pending = [];
      sendSpans(records);
    });
  };
  api.context.setGlobalContextManager(new AsyncLocalContextManager(api.ROOT_CONTEXT));
  return api.trace.setGlobalTracerProvider(new RelayTracerProvider(api, send));
}

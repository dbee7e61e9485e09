import { otelApi, parseTraceparent } from '../otel/api';
import type { SpanRecord } from '../otel/record';

/**
 * Runs `produce` (a task's `process`) with the context of the task's attempt span active, so
 * that spans made by the worker's code are its children. The context stays active in the
 * task's continuations when the worker has a context manager (its own SDK's, or
 * `registerWorkerTracing()`'s). Without `@opentelemetry/api` in the worker, runs it as it is.
 */
export function inTrace<X>(traceparent: string, produce: () => X): X {
  const api = otelApi();
  const parent = api && parseTraceparent(traceparent);
  if (!api || !parent) return produce();
  return api.context.with(api.trace.setSpanContext(api.ROOT_CONTEXT, parent), produce);
}

/** Where the worker's ended spans go: its runtime's outbox, to the pool's process; set by the runtime. */
let sink: ((records: SpanRecord[]) => void) | undefined;

/** The runtime of this worker sends spans with `send` from now on. */
export function setSpanSink(send: (records: SpanRecord[]) => void): void {
  sink = send;
}

/** Sends spans to the pool's process; false when this is not a worker (no runtime). */
export function sendSpans(records: SpanRecord[]): boolean {
  if (!sink) return false;
  sink(records);
  return true;
}

/** Whether this thread runs a looppool worker, whose runtime sends spans. */
export function canSendSpans(): boolean {
  return sink !== undefined;
}

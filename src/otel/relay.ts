import type { Context, SpanContext, Tracer } from '@opentelemetry/api';
import { otelApi } from './api';
import type { SpanRecord } from './record';

/** Span records held at most, waiting for their parent or mapped to their replay (the oldest go first). */
const bound = 10_000;
/** A worker span's id → the context of its replay here, so that its children follow it. */
const replayed = new Map<string, SpanContext>();
/** A worker span's id → its children that ended first and wait for it. */
const orphans = new Map<string, SpanRecord[]>();
let tracer: Tracer | undefined;

/**
 * Exports spans that a worker's code ended (`registerWorkerTracing`) through this process's
 * tracer provider: each is started again here with its own name, times, attributes, events
 * and status, under its parent. The span ids are this process's; the trace and the tree are
 * the worker's. A child that ended before its parent waits for it (at most {@link bound}).
 */
export function exportWorkerSpans(records: readonly SpanRecord[]): void {
  const api = otelApi();
  if (!api) return;
  tracer ??= api.trace.getTracer('looppool.worker');
  for (const record of records) {
    if (record.remoteParent || record.parentSpanId === undefined) replay(api, tracer, record, undefined);
    else {
      const parent = replayed.get(record.parentSpanId);
      if (parent) replay(api, tracer, record, parent);
      else wait(record);
    }
  }
}

type Api = NonNullable<ReturnType<typeof otelApi>>;

function replay(api: Api, tracer: Tracer, record: SpanRecord, parent: SpanContext | undefined): void {
  const remote: SpanContext | undefined =
    record.remoteParent && record.parentSpanId !== undefined
      ? { traceId: record.traceId, spanId: record.parentSpanId, traceFlags: record.traceFlags, isRemote: true }
      : parent;
  const context: Context = remote ? api.trace.setSpanContext(api.ROOT_CONTEXT, remote) : api.ROOT_CONTEXT;
  const span = tracer.startSpan(record.name, { kind: record.kind, startTime: record.start, attributes: record.attributes as never }, context);
  for (const event of record.events) span.addEvent(event.name, event.attributes as never, event.time);
  if (record.status.code !== 0) span.setStatus(record.status);
  span.end(record.end);
  remember(replayed, record.spanId, span.spanContext());
  const children = orphans.get(record.spanId);
  if (!children) return;
  orphans.delete(record.spanId);
  for (const child of children) replay(api, tracer, child, span.spanContext());
}

function wait(record: SpanRecord): void {
  const siblings = orphans.get(record.parentSpanId!);
  if (siblings) siblings.push(record);
  else remember(orphans, record.parentSpanId!, [record]);
}

/** Sets `key`, dropping the oldest entry past {@link bound}. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.set(key, value);
  if (map.size > bound) map.delete(map.keys().next().value!);
}

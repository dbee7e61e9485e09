import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { tracingFor } from '../src/otel/tracing';

/**
 * A pool's tracing while no tracer provider is registered (this file registers none until its
 * last test): a task makes no span unless it has a trace to join, and tracing starts once a
 * provider is registered, for a pool made before it.
 */
describe('tracing with no tracer provider registered', () => {
  afterAll(() => trace.disable());

  it('gives a task no trace when there is no span to join', () => {
    const tracing = tracingFor('p')!;
    expect(tracing.task(0, tracing.active())).toBeUndefined();
    expect(tracing.task(1, undefined)).toBeUndefined();
  });

  it("joins the trace of a span context it is given (a remote caller's), passing its trace id to the worker", () => {
    const tracing = tracingFor('p')!;
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const joined = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(tracing.task(0, joined)?.attempt('worker 0').traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it('traces the tasks of a pool made before a tracer provider was registered, once it is', () => {
    const tracing = tracingFor('p')!;
    expect(tracing.task(0, ROOT_CONTEXT)).toBeUndefined();
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const task = tracing.task(1, ROOT_CONTEXT);
    expect(task).toBeDefined();
    task!.end('done');
    expect(exporter.getFinishedSpans().map((span) => [span.name, span.attributes['looppool.index']])).toEqual([['looppool.task', 1]]);
  });
});

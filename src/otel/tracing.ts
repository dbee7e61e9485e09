import type { Context, Span, Tracer } from '@opentelemetry/api';
import { otelApi, traceparentOf } from './api';

type Api = NonNullable<ReturnType<typeof otelApi>>;

/** What a task ended with, on its span (`dropped`: by an `overflow` strategy, never run). */
export type TaskOutcome = 'done' | 'failed' | 'cancelled' | 'dropped';

/**
 * A pool's tracing (see {@link tracingFor}). Its types name nothing of `@opentelemetry/api`,
 * so that the package's declarations type-check where it is not installed.
 */
export interface Tracing {
  /** The context active now (an OpenTelemetry `Context`). */
  active(): unknown;
  /**
   * A span for task `index`, under the context active now if it holds a span, else under
   * `fallback`; undefined when the task is not traced (no tracer provider, no trace to join).
   */
  task(index: number, fallback: unknown): TaskTrace | undefined;
}

/** One task's span, and its attempts. */
export interface TaskTrace {
  /** Starts the next attempt, on `worker`. */
  attempt(worker: string): AttemptTrace;
  /** The task ended: `outcome`, and its error if it failed. Once. */
  end(outcome: TaskOutcome, error?: unknown, worker?: string): void;
}

/** One attempt's span. */
export interface AttemptTrace {
  /** What the worker gets, to make its spans children of this one; undefined if the span is not recorded. */
  readonly traceparent: string | undefined;
  /** The attempt ended: `outcome` (`crashed` when its worker died under it), and its error. Once. */
  end(outcome: TaskOutcome | 'crashed', error?: unknown): void;
}

/** Tracing for pool `poolName`, or undefined when `@opentelemetry/api` is not installed. */
export function tracingFor(poolName: string): Tracing | undefined {
  const api = otelApi();
  return api && new OtelTracing(api, poolName);
}

/**
 * A pool's tracing, when `@opentelemetry/api` is installed: each task a `looppool.task` span,
 * a child of the context active where it was submitted, and each attempt to run it a
 * `looppool.attempt` span under it, whose context travels to the worker as a `traceparent`.
 * With no tracer provider registered, spans are the API's no-op ones and nothing is sent.
 */
class OtelTracing implements Tracing {
  private readonly tracer: Tracer;
  /**
   * The provider {@link tracer} came from, when it is the API's proxy (no tracer provider was
   * registered yet): its tracer records only once a provider is registered, which is when the
   * proxy's delegate stops being {@link none}. Undefined otherwise (every task takes the full path).
   */
  private readonly proxy: { getDelegate(): unknown } | undefined;
  /** What a proxy delegates to while no tracer provider is registered. */
  private readonly none: unknown;

  constructor(
    private readonly api: Api,
    readonly poolName: string,
  ) {
    const provider = api.trace.getTracerProvider();
    this.tracer = provider.getTracer('looppool');
    // ProxyTracerProvider is deprecated for applications, not for this check; an API of another
    // copy registered globally gives a proxy of its own class, and then every task takes the full path.
    this.proxy = provider instanceof api.ProxyTracerProvider ? provider : undefined;
    this.none = new api.ProxyTracerProvider().getDelegate();
  }

  active(): Context {
    return this.api.context.active();
  }

  /**
   * A span for task `index`, under the context active now if it holds a span, else under
   * `fallback` (the context where its pipeline was subscribed). Undefined when the task is not
   * traced: its task then holds nothing for it, and no worker name is made for its attempts.
   */
  task(index: number, fallback: unknown): TaskTrace | undefined {
    const active = this.api.context.active();
    const activeSpan = this.api.trace.getSpan(active);
    const parent = activeSpan || !fallback ? active : (fallback as Context);
    // No tracer provider and no span to join: the tracer's span would be a no-op with no
    // context, so none is made (a source that pushes a million inputs made a million).
    if (this.proxy?.getDelegate() === this.none && !(parent === active ? activeSpan : this.api.trace.getSpan(parent))) return undefined;
    const span = this.tracer.startSpan('looppool.task', { attributes: { 'looppool.pool': this.poolName, 'looppool.index': index } }, parent);
    // No tracer provider and no trace to join: the attempts' spans would record nothing and
    // carry no traceparent; skipping them saves a context and two spans a task.
    if (!span.isRecording() && !this.api.isSpanContextValid(span.spanContext())) return undefined;
    return new OtelTaskTrace(this.api, this.tracer, span);
  }
}

class OtelTaskTrace implements TaskTrace {
  /** Attempts started so far. */
  private attempts = 0;
  private ended = false;

  constructor(
    private readonly api: Api,
    private readonly tracer: Tracer,
    private readonly span: Span,
  ) {}

  attempt(worker: string): AttemptTrace {
    const attempt = ++this.attempts;
    this.span.setAttribute('looppool.attempts', attempt);
    const span = this.tracer.startSpan(
      'looppool.attempt',
      { attributes: { 'looppool.worker': worker, 'looppool.attempt': attempt } },
      this.api.trace.setSpan(this.api.context.active(), this.span),
    );
    const context = span.spanContext();
    return new OtelAttemptTrace(this.api, span, this.api.isSpanContextValid(context) ? traceparentOf(context) : undefined);
  }

  end(outcome: TaskOutcome, error?: unknown, worker?: string): void {
    if (this.ended) return;
    this.ended = true;
    if (worker !== undefined) this.span.setAttribute('looppool.worker', worker);
    endSpan(this.api, this.span, outcome, error);
  }
}

class OtelAttemptTrace implements AttemptTrace {
  private ended = false;

  constructor(
    private readonly api: Api,
    private readonly span: Span,
    readonly traceparent: string | undefined,
  ) {}

  end(outcome: TaskOutcome | 'crashed', error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    endSpan(this.api, this.span, outcome, error);
  }
}

function endSpan(api: Api, span: Span, outcome: string, error: unknown): void {
  span.setAttribute('looppool.outcome', outcome);
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

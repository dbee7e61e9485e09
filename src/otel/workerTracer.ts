import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type {
  Attributes,
  Context,
  ContextManager,
  Exception,
  Link,
  Span,
  SpanAttributeValue,
  SpanContext,
  SpanOptions,
  SpanStatus,
  TimeInput,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';
import type { SpanRecord } from './record';

type Api = typeof import('@opentelemetry/api');

/** The active context of each asynchronous flow, through `AsyncLocalStorage`: what the task's continuations see. */
export class AsyncLocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();

  constructor(private readonly root: Context) {}

  active(): Context {
    return this.storage.getStore() ?? this.root;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(context, () => fn.apply(thisArg, args));
  }
  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (...args: unknown[]): unknown => this.with(context, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

/** Spans that, when they end, travel to the pool's process (through `send`) to be exported there. */
export class RelayTracerProvider implements TracerProvider {
  private readonly tracer: Tracer;

  constructor(api: Api, send: (record: SpanRecord) => void) {
    this.tracer = new RelayTracer(api, send);
  }

  getTracer(): Tracer {
    return this.tracer;
  }
}

class RelayTracer implements Tracer {
  constructor(
    private readonly api: Api,
    private readonly send: (record: SpanRecord) => void,
  ) {}

  startSpan(name: string, options: SpanOptions = {}, context: Context = this.api.context.active()): Span {
    const parent = options.root ? undefined : this.api.trace.getSpanContext(context);
    const valid = parent !== undefined && this.api.isSpanContextValid(parent);
    const ids: SpanContext = {
      traceId: valid ? parent.traceId : randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      traceFlags: valid ? parent.traceFlags : 1,
    };
    if ((ids.traceFlags & 1) === 0) return this.api.trace.wrapSpanContext(ids); // not sampled upstream
    return new RelaySpan(ids, valid ? parent : undefined, name, options, this.send);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest.pop() as F;
    const [options, context] = rest as [SpanOptions | undefined, Context | undefined];
    const parent = context ?? this.api.context.active();
    const span = this.startSpan(name, options, parent);
    return this.api.context.with(this.api.trace.setSpan(parent, span), () => fn(span)) as ReturnType<F>;
  }
}

class RelaySpan implements Span {
  private attributes: Record<string, unknown> = {};
  private readonly events: Array<SpanRecord['events'][number]> = [];
  private status: SpanStatus = { code: 0 };
  private readonly start: number;
  private ended = false;

  constructor(
    private readonly ids: SpanContext,
    private readonly parent: SpanContext | undefined,
    private name: string,
    private readonly options: SpanOptions,
    private readonly send: (record: SpanRecord) => void,
  ) {
    this.start = options.startTime === undefined ? now() : ms(options.startTime);
    if (options.attributes) this.setAttributes(options.attributes);
  }

  spanContext(): SpanContext {
    return this.ids;
  }
  setAttribute(key: string, value: SpanAttributeValue): this {
    if (!this.ended) this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    for (const [key, value] of Object.entries(attributes)) if (value !== undefined) this.setAttribute(key, value);
    return this;
  }
  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    const timeGiven = typeof attributesOrTime === 'number' || attributesOrTime instanceof Date || Array.isArray(attributesOrTime);
    const attributes = timeGiven ? undefined : (attributesOrTime as Attributes | undefined);
    const at = timeGiven ? (attributesOrTime as TimeInput) : time;
    this.events.push({ name, time: at === undefined ? now() : ms(at), attributes });
    return this;
  }
  addLink(_link: Link): this {
    return this; // links do not travel yet
  }
  addLinks(_links: Link[]): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    if (!this.ended) this.status = status;
    return this;
  }
  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }
  isRecording(): boolean {
    return !this.ended;
  }
  recordException(exception: Exception, time?: TimeInput): void {
    const error = typeof exception === 'string' ? { message: exception } : exception;
    this.addEvent(
      'exception',
      {
        'exception.type': (error as { name?: string }).name ?? 'Error',
        'exception.message': error.message ?? String(exception),
        ...((error as { stack?: string }).stack ? { 'exception.stacktrace': (error as { stack: string }).stack } : {}),
      },
      time,
    );
  }
  end(endTime?: TimeInput): void {
    if (this.ended) return;
    this.ended = true;
    this.send({
      traceId: this.ids.traceId,
      spanId: this.ids.spanId,
      parentSpanId: this.parent?.spanId,
      remoteParent: this.parent?.isRemote === true,
      traceFlags: this.ids.traceFlags,
      name: this.name,
      kind: this.options.kind ?? 0,
      start: this.start,
      end: endTime === undefined ? now() : ms(endTime),
      attributes: this.attributes,
      events: this.events,
      status: { code: this.status.code, message: this.status.message },
    });
  }
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A time the API accepts, in milliseconds since the epoch. */
function ms(time: TimeInput): number {
  if (typeof time === 'number') return time < 1e12 ? performance.timeOrigin + time : time; // a performance.now() reading, or epoch ms
  if (time instanceof Date) return time.getTime();
  return time[0] * 1000 + time[1] / 1e6;
}

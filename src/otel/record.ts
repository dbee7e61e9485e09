/** A span the worker's code ended, as it travels to the pool's process to be exported there. */
export interface SpanRecord {
  readonly traceId: string;
  readonly spanId: string;
  /** Its parent's span id, if it has a parent. */
  readonly parentSpanId: string | undefined;
  /** The parent is the task's attempt span, in the pool's process (its context came with the task). */
  readonly remoteParent: boolean;
  readonly traceFlags: number;
  readonly name: string;
  /** `SpanKind`. */
  readonly kind: number;
  /** Start and end, in milliseconds since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly events: ReadonlyArray<{ readonly name: string; readonly time: number; readonly attributes: Readonly<Record<string, unknown>> | undefined }>;
  /** `SpanStatusCode`, and the message. */
  readonly status: { readonly code: number; readonly message?: string | undefined };
}

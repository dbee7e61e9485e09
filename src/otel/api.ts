import type * as Api from '@opentelemetry/api';

/** `@opentelemetry/api` once looked for: the module, or null when it is not installed. */
let loaded: typeof Api | null | undefined;

/**
 * `@opentelemetry/api`, an optional peer dependency, required on first use; undefined when it
 * is not installed, and then tracing costs nothing more than this one failed lookup.
 */
export function otelApi(): typeof Api | undefined {
  if (loaded === undefined) {
    try {
      loaded = require('@opentelemetry/api') as typeof Api;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/** The W3C `traceparent` of a span context: `00-<trace id>-<span id>-<flags>`. */
export function traceparentOf(span: Api.SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${span.traceFlags.toString(16).padStart(2, '0')}`;
}

/** The span context a W3C `traceparent` names, or undefined if it is not one. */
export function parseTraceparent(traceparent: string): Api.SpanContext | undefined {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent);
  if (!match) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16), isRemote: true };
}

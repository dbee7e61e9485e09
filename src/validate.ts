import { inspect } from 'node:util';

// Generic checks of one value, in the message shape every option uses:
// "Expected `name` to be <what>, got <value> (<type>)". They know no option: the callers give the names.

/** Renders a rejected value the way every validation message does: `0 (number)`. */
export function show(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  const text =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'object' && value !== null
        ? inspect(value, { depth: 0, breakLength: Infinity })
        : String(value);
  return `${text} (${type})`;
}

/**
 * The valid name a misspelt one was most likely meant to be, or `undefined` if none is close:
 * equal but for case, `_` and `-`; one containing the other (`worker_num` for `worker`); or
 * at most 40% of the letters different (`concurency` for `concurrency`), as TypeScript's own
 * suggestions go.
 */
export function nearest(name: string, allowed: readonly string[]): string | undefined {
  const plain = (text: string): string => text.toLowerCase().replace(/[-_]/g, '');
  const wanted = plain(name);
  let best: { readonly name: string; readonly distance: number } | undefined;
  for (const candidate of allowed) {
    const other = plain(candidate);
    const contained = Math.min(wanted.length, other.length) >= 3 && (wanted.includes(other) || other.includes(wanted));
    const distance = contained ? Math.abs(wanted.length - other.length) : editDistance(wanted, other);
    if (!contained && distance > Math.max(1, Math.floor(Math.max(wanted.length, other.length) * 0.4))) continue;
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Edit distance: the fewest insertions, deletions, substitutions and swaps of two neighbours from `a` to `b`. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** Checks that `value` is a finite number above 0. */
export function positiveNumber(name: string, value: unknown): void {
  if (typeof value !== 'number') throw new TypeError(`Expected \`${name}\` to be a positive number, got ${show(value)}`);
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`Expected \`${name}\` to be a positive number, got ${show(value)}`);
}

/** A non-empty string, or `fallback` when `value` is undefined. */
export function text(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '') throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${show(value)}`);
  return value;
}

/** A function, or undefined. */
export function callback<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new TypeError(`Expected \`${name}\` to be a function, got ${show(value)}`);
  return value as F;
}

/** A non-negative integer, or `fallback` when `value` is undefined. */
export function count(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`Expected \`${name}\` to be a non-negative integer, got ${show(value)}`);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be a non-negative integer, got ${show(value)}`);
  }
  return value;
}

/** A positive integer, or `fallback` when `value` is undefined (a `NaN` fallback: the value is required). */
export function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined && !Number.isNaN(fallback)) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`Expected \`${name}\` to be a positive integer, got ${show(value)}`);
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${show(value)}`);
  }
  return value;
}

/** A positive integer or `Infinity` (no bound), or `fallback` when `value` is undefined. */
export function countOrInfinity(name: string, value: unknown, fallback: number): number {
  if (value === Infinity) return value;
  if (typeof value === 'number' && !Number.isInteger(value)) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer or Infinity, got ${show(value)}`);
  }
  return positiveInteger(name, value, fallback);
}

/** The longest delay (ms) a Node timer keeps; a longer one fires after 1 ms. */
export const maxTimer = 2 ** 31 - 1;

/** A duration for a timer: an integer from `min` (1 by default) to {@link maxTimer} milliseconds. */
export function milliseconds(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const least = min === 0 ? 'a non-negative integer' : 'a positive integer';
  if (typeof value !== 'number') throw new TypeError(`Expected \`${name}\` to be ${least} of milliseconds, got ${show(value)}`);
  if (!Number.isInteger(value) || value < min || value > maxTimer) {
    throw new RangeError(
      `Expected \`${name}\` to be ${least} of milliseconds, at most ${maxTimer} (2^31 - 1, the longest timer Node keeps; longer ones fire at once), got ${show(value)}`,
    );
  }
  return value;
}

/** A boolean, or `fallback` when `value` is undefined. */
export function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`Expected \`${name}\` to be a boolean, got ${show(value)}`);
  return value;
}

/** One of `allowed`, or `fallback` when `value` is undefined (an undefined fallback: the value is required). */
export function oneOf<V extends string>(name: string, value: unknown, allowed: readonly V[], fallback: V | undefined): V {
  if (value === undefined && fallback !== undefined) return fallback;
  if (!allowed.includes(value as V)) {
    throw new TypeError(`Expected \`${name}\` to be one of ${allowed.map((v) => `'${v}'`).join(', ')}, got ${show(value)}`);
  }
  return value as V;
}


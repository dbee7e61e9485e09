import { show } from './validate';

/** The bounds of an elastic pool: `min` workers always run, at most `max` at once. */
export interface SizeRange {
  /** Workers started with the pool and never stopped for idleness; 0 lets the pool stop them all. */
  min: number;
  /** Workers that may run at once; their indices go from 0 to `max - 1`. */
  max: number;
}

/**
 * Checks the `size` option, a number (a fixed pool) or `{ min, max }` (an elastic one), and
 * returns its bounds; a number `n` is `{ min: n, max: n }`. Throws `TypeError` for the wrong
 * type, `RangeError` naming both bounds when they do not fit `0 <= min <= max`, `max >= 1`.
 */
export function resolveSize(value: unknown, fallback: number): SizeRange {
  if (value === undefined) return { min: fallback, max: fallback };
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`Expected \`size\` to be a positive integer, got ${value} (number)`);
    return { min: value, max: value };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`Expected \`size\` to be a positive integer, got ${show(value)}`);
  }
  for (const name of Object.keys(value)) {
    if (name !== 'min' && name !== 'max') throw new TypeError(`Unknown field \`size.${name}\`; expected { min, max }, got ${show(value)}`);
  }
  const { min, max } = value as Partial<SizeRange>;
  if (typeof min !== 'number' || typeof max !== 'number') {
    throw new TypeError(`Expected \`size\` to be { min, max } with two integers, got ${show(value)}`);
  }
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || min > max || max < 1) {
    throw new RangeError(
      `Expected \`size.min\` and \`size.max\` to be integers with 0 <= min <= max and max >= 1, got min ${min} and max ${max}`,
    );
  }
  return { min, max };
}

import { availableParallelism } from 'node:os';

/** Options of {@link loopPool}. Every field is optional; the defaults suit a CPU-bound map. */
export interface LoopPoolOptions<D = unknown> {
  /**
   * Worker threads.
   * @default os.availableParallelism() - 1, at least 1
   */
  size?: number;
  /**
   * Tasks in flight per worker. Above 1, a worker runs several tasks at once on its event
   * loop (useful for tasks that await I/O) and several tasks travel in one message.
   * @default 1
   */
  concurrency?: number;
  /**
   * Emit results in input order, as `concatMap` would, while tasks still run in parallel.
   * Results that finish early wait in a reorder buffer bounded by `bufferSize`.
   * @default false
   */
  ordered?: boolean;
  /**
   * Results held and not yet emitted. In ordered mode, no new task starts while this many
   * results wait for an earlier task; the earliest unfinished task always starts, so the
   * buffer always drains. Tasks already running may add to it.
   * @default 1024
   */
  bufferSize?: number;
  /**
   * Data for every worker: `ctx.workerData` in `init` and `process`, and `workerData` of
   * `node:worker_threads`. It is structured-cloned once per worker; a `SharedArrayBuffer`
   * inside it is shared, not copied.
   * @default undefined
   */
  workerData?: D;
}

/** {@link LoopPoolOptions} with every default filled in. */
export interface ResolvedOptions<D = unknown> {
  readonly size: number;
  readonly concurrency: number;
  readonly ordered: boolean;
  readonly bufferSize: number;
  readonly workerData: D | undefined;
}

const optionNames: ReadonlyArray<keyof LoopPoolOptions> = ['size', 'concurrency', 'ordered', 'bufferSize', 'workerData'];

/**
 * Checks options and fills in defaults. Throws `TypeError` or `RangeError` at once, naming
 * the option and the value that was given.
 */
export function resolveOptions<D>(sizeOrOptions: number | LoopPoolOptions<D> | undefined): ResolvedOptions<D> {
  const options: LoopPoolOptions<D> =
    typeof sizeOrOptions === 'number' ? { size: sizeOrOptions } : checkOptionsObject(sizeOrOptions);
  return {
    size: positiveInteger('size', options.size, Math.max(1, availableParallelism() - 1)),
    concurrency: positiveInteger('concurrency', options.concurrency, 1),
    ordered: boolean('ordered', options.ordered, false),
    bufferSize: positiveInteger('bufferSize', options.bufferSize, 1024),
    workerData: options.workerData,
  };
}

function checkOptionsObject<D>(options: LoopPoolOptions<D> | undefined): LoopPoolOptions<D> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`Expected the second argument to be a size or an options object, got ${show(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!(optionNames as readonly string[]).includes(name)) {
      throw new TypeError(`Unknown option \`${name}\`; expected one of: ${optionNames.join(', ')}`);
    }
  }
  return options;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`Expected \`${name}\` to be a positive integer, got ${show(value)}`);
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${show(value)}`);
  }
  return value;
}

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`Expected \`${name}\` to be a boolean, got ${show(value)}`);
  return value;
}

/** Renders a rejected value the way every validation message does: `0 (number)`. */
export function show(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `${text} (${type})`;
}

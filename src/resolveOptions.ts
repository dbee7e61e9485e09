import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { hotShots, type MetricsOptions, type StatsdClient } from './metrics/statsd';
import {
  operatorOptionNames,
  pipelineOptionNames,
  poolOptionNames,
  type InspectOptions,
  type OverflowOptions,
  type PipelineOptions,
  type PoolOptions,
  type ResolvedOptions,
  type ResolvedPipelineOptions,
  type WorkerType,
} from './options';
import { isClusterTransport, type ClusterTransport } from './transport/cluster';
import { resolveSize } from './poolSize';
import { checkForProcesses } from './transport/processChecks';
import { boolean, callback, count, countOrInfinity, milliseconds, nearest, oneOf, positiveInteger, positiveNumber, show, text } from './validate';

/**
 * Checks the options of `loopPool(worker, ...)` (`kind` 'operator') or `createPool` ('pool')
 * and fills in defaults. Throws `TypeError` or `RangeError` at once, naming the option and
 * the value that was given.
 */
export function resolveOptions<D, T>(
  sizeOrOptions: number | PoolOptions<D, T> | undefined,
  kind: 'operator' | 'pool',
): ResolvedOptions<D> {
  const options: PoolOptions<D, T> =
    typeof sizeOrOptions === 'number'
      ? { size: sizeOrOptions }
      : checkNames(sizeOrOptions, kind === 'pool' ? poolOptionNames : operatorOptionNames);
  const concurrency = positiveInteger('concurrency', options.concurrency, 1);
  const workerType = oneOf('workerType', options.workerType, ['thread', 'process'] as const, 'thread');
  if (workerType === 'process') checkForProcesses(options);
  const transport = clusterTransport(options.transport, workerType);
  const size = resolveSize(options.size, Math.max(1, availableParallelism() - 1));
  return {
    workerType,
    transport,
    size: size.max,
    minSize: size.min,
    idleTimeout: milliseconds('idleTimeout', options.idleTimeout, 10_000, 0),
    concurrency,
    queueSize: count('queueSize', options.queueSize, concurrency),
    adaptQueue: options.queueSize === undefined,
    ordered: boolean('ordered', options.ordered, false),
    bufferSize: positiveInteger('bufferSize', options.bufferSize, 1024),
    overflow: overflow(options.overflow),
    settle: boolean('settle', options.settle, false),
    streamWindow: countOrInfinity('streamWindow', options.streamWindow, 4096),
    streamBuffer: countOrInfinity('streamBuffer', options.streamBuffer, 16_384),
    workerData: options.workerData,
    ack: oneOf('ack', options.ack, ['auto', 'manual'] as const, 'auto'),
    stallThreshold: milliseconds('stallThreshold', options.stallThreshold, 5_000),
    retries: count('retries', options.retries, 1),
    maxRestarts: count('maxRestarts', options.maxRestarts, 10),
    taskTimeout: options.taskTimeout === undefined ? undefined : milliseconds('taskTimeout', options.taskTimeout, 0),
    gracePeriod: milliseconds('gracePeriod', options.gracePeriod, 1_000, 0),
    resourceLimits: resourceLimits(options.resourceLimits),
    stopOnSignals: boolean('stopOnSignals', options.stopOnSignals, false),
    name: text('name', options.name, 'looppool'),
    statsInterval: milliseconds('statsInterval', options.statsInterval, 10_000),
    onStats: callback('onStats', options.onStats),
    metrics: metrics(options.metrics),
    blockingThreshold:
      options.blockingThreshold === undefined ? undefined : milliseconds('blockingThreshold', options.blockingThreshold, 0),
    onError: callback('onError', options.onError),
    transfer: callback('transfer', options.transfer),
    inspect: inspectOption(options.inspect),
  };
}

/** Checks the options of `loopPool(pool, options)`; the pool's options are the defaults. */
export function resolvePipelineOptions(
  options: PipelineOptions | undefined,
  defaults: ResolvedPipelineOptions,
): ResolvedPipelineOptions {
  const checked = checkNames(options, pipelineOptionNames, 'loopPool(pool, ...)');
  return {
    ordered: boolean('ordered', checked.ordered, defaults.ordered),
    bufferSize: positiveInteger('bufferSize', checked.bufferSize, defaults.bufferSize),
    overflow: checked.overflow === undefined ? defaults.overflow : overflow(checked.overflow),
    settle: boolean('settle', checked.settle, defaults.settle),
  };
}

/**
 * Checks that `options` is an object whose keys are all in `allowed`, and throws a
 * `TypeError` naming the first unknown key, with the nearest valid name when one is close.
 *
 * @param call the call the options were given to, for messages: `'pool.put(task, options)'`.
 *   Without it, the options of `loopPool(worker, ...)` or `createPool(...)`, which may be a size.
 */
export function checkNames<O extends object>(options: O | undefined, allowed: readonly string[], call?: string): O {
  if (options === undefined) return {} as O;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(
      call
        ? `Expected the options of ${call} to be an object, got ${show(options)}`
        : `Expected the second argument to be a size or an options object, got ${show(options)}`,
    );
  }
  for (const name of Object.keys(options)) {
    if (allowed.includes(name)) continue;
    if (call && (poolOptionNames as readonly string[]).includes(name)) {
      throw new TypeError(`\`${name}\` belongs to the pool: set it in createPool(...), not in ${call}`);
    }
    const near = nearest(name, allowed);
    throw new TypeError(
      `Unknown option \`${name}\`${call ? ` of ${call}` : ''}; ` +
        (near ? `did you mean \`${near}\`? Expected one of: ` : 'expected one of: ') +
        allowed.join(', '),
    );
  }
  return options;
}

function overflow(value: unknown): OverflowOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`Expected \`overflow\` to be { size, strategy }, got ${show(value)}`);
  }
  const { size, strategy } = value as Partial<OverflowOptions>;
  return {
    size: positiveInteger('overflow.size', size, NaN),
    strategy: oneOf('overflow.strategy', strategy, ['error', 'drop-newest', 'drop-oldest'] as const, undefined),
  };
}

function resourceLimits(value: unknown): ResourceLimits | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`Expected \`resourceLimits\` to be an object of worker_threads limits, got ${show(value)}`);
  }
  const limits = value as Record<string, unknown>;
  const names = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];
  for (const name of Object.keys(limits)) {
    if (!names.includes(name)) throw new TypeError(`Unknown resource limit \`${name}\`; expected one of: ${names.join(', ')}`);
    positiveNumber(`resourceLimits.${name}`, limits[name]);
  }
  return limits as ResourceLimits;
}

/** Checks the `transport` option: a transport of `looppool/nats`, not beside `workerType: 'process'`. */
function clusterTransport(value: unknown, workerType: WorkerType): ClusterTransport | undefined {
  if (value === undefined) return undefined;
  if (!isClusterTransport(value)) {
    throw new TypeError(`Expected \`transport\` to be a transport of looppool/nats, such as nats({ servers, pool }), got ${show(value)}`);
  }
  if (workerType === 'process') {
    throw new TypeError(
      `\`transport\` (${value.description}) and workerType 'process' do not go together: the workers of a cluster ` +
        'transport run on the hosts that serve it (looppool-worker --threads). Drop one of the two',
    );
  }
  return value;
}

function metrics(value: unknown): MetricsOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || !('statsd' in value)) {
    throw new TypeError(`Expected \`metrics\` to be { statsd, prefix?, interval? }, got ${show(value)}`);
  }
  const { statsd, prefix, interval } = value as Partial<MetricsOptions>;
  if (statsd === null || typeof statsd !== 'object') {
    throw new TypeError(`Expected \`metrics.statsd\` to be a hot-shots StatsD client or its options, got ${show(statsd)}`);
  }
  if (typeof (statsd as Partial<StatsdClient>).gauge !== 'function') hotShots(); // installed, or an error that says to install it
  return {
    statsd,
    ...(prefix === undefined ? {} : { prefix: text('metrics.prefix', prefix, '') }),
    ...(interval === undefined ? {} : { interval: milliseconds('metrics.interval', interval, 0) }),
  };
}

function inspectOption(value: unknown): ResolvedOptions['inspect'] {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { port: 0, host: '127.0.0.1' };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`Expected \`inspect\` to be a boolean or { port, host }, got ${show(value)}`);
  }
  const { port, host, ...rest } = value as InspectOptions;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new TypeError(`Unknown option \`inspect.${unknown}\`; expected one of: port, host`);
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError(`Expected \`inspect.port\` to be an integer from 0 to 65535, got ${show(port)}`);
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw new TypeError(`Expected \`inspect.host\` to be a host name or address, got ${show(host)}`);
  }
  return { port: port ?? 0, host: host ?? '127.0.0.1' };
}

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { poolNamePattern } from '../nats/wire';
import { resolveWorkerModule } from '../workerModule';
import { ClusterHost } from './cluster';

const usage = `Usage: looppool-worker <worker module> --nats <url>[,<url>...] [--nats <url>...] --pool <name> [--threads <n>]
                       [--user <user> --pass <password> | --token <token>]
                       [--tls-ca <file>] [--tls-cert <file> --tls-key <file>]

Serves the worker module to the looppool pool named <name> through NATS, on <n> worker
threads (default: the number of cores). Several servers of one NATS cluster (a list, or
--nats repeated) are tried in turn; when the one it is connected to dies, it goes on
through another. SIGINT or SIGTERM stops it gracefully: it finishes
the tasks it runs and gives back those it has not started. Passwords can also come from
LOOPPOOL_NATS_PASS and tokens from LOOPPOOL_NATS_TOKEN, to keep them out of \`ps\`.
Without --nats, looppool-worker serves one worker process of a pool:
it is started by createPool or loopPool with workerType: 'process', not by hand.`;

/** What the command line asked for, or why it is wrong. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      nats: { type: 'string', multiple: true },
      pool: { type: 'string' },
      threads: { type: 'string' },
      user: { type: 'string' },
      pass: { type: 'string' },
      token: { type: 'string' },
      'tls-ca': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true as const };
  if (positionals.length !== 1) throw new UsageError(`Expected one worker module, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  const servers = (values.nats ?? []).flatMap((list) => list.split(',')).map((url) => url.trim()).filter((url) => url !== '');
  if (servers.length === 0) throw new UsageError('Expected --nats <url>, the NATS server to serve through (nats://host:4222)');
  if (!values.pool) throw new UsageError('Expected --pool <name>, the name of the pool to serve (as in nats({ pool }))');
  if (!poolNamePattern.test(values.pool)) {
    throw new UsageError(`Expected --pool to be letters, digits, - and _ (it becomes a NATS subject token), got ${JSON.stringify(values.pool)}`);
  }
  const modulePath = resolveWorkerModule(positionals[0]);
  if (!existsSync(modulePath)) throw new UsageError(`Expected the worker module to exist, got ${modulePath} (no such file)`);
  const threads = values.threads === undefined ? availableParallelism() : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`Expected --threads to be a positive integer, got ${values.threads}`);
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new UsageError('Expected --tls-cert and --tls-key together (a client certificate and its key), got only one');
  }
  const tlsGiven = values['tls-ca'] !== undefined || values['tls-cert'] !== undefined;
  return {
    help: false as const,
    tls: tlsGiven
      ? {
          ...(values['tls-ca'] === undefined ? {} : { caFile: values['tls-ca'] }),
          ...(values['tls-cert'] === undefined ? {} : { certFile: values['tls-cert'], keyFile: values['tls-key'] }),
        }
      : undefined,
    modulePath,
    servers,
    pool: values.pool,
    threads,
    user: values.user,
    pass: values.pass ?? env['LOOPPOOL_NATS_PASS'],
    token: values.token ?? env['LOOPPOOL_NATS_TOKEN'],
  };
}

/** A command line looppool-worker cannot run. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Runs `looppool-worker` in cluster mode. */
export async function runCli(argv: readonly string[]): Promise<void> {
  let options;
  try {
    options = parseCommandLine(argv);
  } catch (error) {
    process.stderr.write(`looppool-worker: ${(error as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  let host: ClusterHost;
  try {
    host = await ClusterHost.start({ ...options, log: (line) => process.stdout.write(`${line}\n`) });
  } catch (error) {
    process.stderr.write(`looppool-worker: ${(error as Error).message}\n`);
    process.exit(1);
  }
  let signals = 0;
  const stop = (): void => {
    signals++;
    if (signals === 1) void host.drain().then(() => process.exit(0));
    else void host.stop().then(() => process.exit(130));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

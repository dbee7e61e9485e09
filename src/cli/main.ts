#!/usr/bin/env node
/**
 * `looppool`: the command line. `looppool top <url>` shows a pool created with `inspect` live;
 * `looppool top --nats <url> --pool <name>` shows a cluster pool and its hosts.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { natsSource } from './natsSource';
import { httpSource, top } from './top';

const usage = `Usage: looppool top <url>                      a pool created with inspect: true (its pool.inspectUrl)
       looppool top --nats <url> --pool <name>  a cluster pool, through NATS

A live view of the pool's workers, refreshed every second. Keys: q quits, s changes the sort.
When the output is not a terminal, one plain line per second.`;

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { nats: { type: 'string' }, pool: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (command !== 'top') throw new UsageError(`Expected the command \`top\`, got ${command === undefined ? 'none' : JSON.stringify(command)}`);
  if (values.nats !== undefined || values.pool !== undefined) {
    if (!values.nats || !values.pool) throw new UsageError('Expected --nats <url> and --pool <name> together');
    if (rest.length > 0) throw new UsageError(`Expected no URL with --nats, got ${rest.join(' ')}`);
    await top(await natsSource(values.nats, values.pool));
    return 0;
  }
  if (rest.length !== 1 || !/^https?:\/\//.test(rest[0]!)) {
    throw new UsageError(`Expected one URL, http://127.0.0.1:<port> (the pool's inspectUrl), got ${rest.length === 0 ? 'none' : rest.join(' ')}`);
  }
  await top(httpSource(rest[0]!));
  return 0;
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    const wrongUse = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`looppool: ${error.message}\n${wrongUse ? `\n${usage}\n` : ''}`);
    process.exit(wrongUse ? 2 : 1);
  },
);

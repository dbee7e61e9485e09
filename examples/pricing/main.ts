/**
 * A user pipeline with loopPool inside: parse order lines, price them on worker threads,
 * keep a running total. `marbles/userPipeline.spec.ts` tests this same pipeline in virtual
 * time with `inlineWorker`.
 *
 *   npx tsx examples/pricing/main.ts
 *
 * The same pipeline on workers that other hosts serve through NATS (docs/cluster.md): start
 * a host or two with the worker module, then add `--nats`; nothing else changes.
 *
 *   npx looppool-worker examples/pricing/price.worker.ts --nats nats://127.0.0.1:4222 --pool pricing --threads 1
 *   npx tsx examples/pricing/main.ts --nats nats://127.0.0.1:4222 --pool pricing
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { from, map, scan } from 'rxjs';
import { loopPool } from 'looppool';
import { nats } from 'looppool/nats';
import { parse, type Line } from './price.worker';

const { values } = parseArgs({ options: { nats: { type: 'string' }, pool: { type: 'string', default: 'pricing' } } });
// The one difference: with --nats, the pool's workers are those the hosts serve.
const served = values.nats ? { transport: nats({ servers: values.nats, pool: values.pool }) } : {};

from(['3 x apple @ 2', '1 x pear @ 10', '5 x fig @ 1'])
  .pipe(
    map(parse),
    loopPool<Line, number>(join(__dirname, 'price.worker.ts'), { size: 2, ordered: true, ...served }),
    scan((total, price) => total + price, 0),
  )
  .subscribe((total) => console.log(total));

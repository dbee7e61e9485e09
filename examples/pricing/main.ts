/**
 * A user pipeline with loopPool inside: parse order lines, price them on worker threads,
 * keep a running total. `marbles/userPipeline.spec.ts` tests this same pipeline in virtual
 * time with `inlineWorker`.
 *
 *   npx tsx examples/pricing/main.ts
 */
import { join } from 'node:path';
import { from, map, scan } from 'rxjs';
import { loopPool } from 'looppool';
import { parse, type Line } from './price.worker';

from(['3 x apple @ 2', '1 x pear @ 10', '5 x fig @ 1'])
  .pipe(
    map(parse),
    loopPool<Line, number>(join(__dirname, 'price.worker.ts'), { size: 2, ordered: true }),
    scan((total, price) => total + price, 0),
  )
  .subscribe((total) => console.log(total));

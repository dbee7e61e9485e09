import { join } from 'node:path';
import { range } from 'rxjs';
import { loopPool } from 'looppool';

range(1, 10)
  .pipe(loopPool<typeof import('./square.worker')>(join(__dirname, 'square.worker.ts'), { size: 4, ordered: true }))
  .subscribe((square) => console.log(square));

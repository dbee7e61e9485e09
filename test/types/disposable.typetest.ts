/**
 * `await using`, on a lib that has `AsyncDisposable` (test/types/tsconfig.json: esnext.disposable):
 * a pool is an `AsyncDisposable` that stops when the scope that declared it ends.
 */
import { createPool, type LoopPool } from 'looppool';

export async function scoped(): Promise<number> {
  await using pool = createPool<typeof import('./workers/square.worker')>('./square.worker.js', 2);
  const disposable: AsyncDisposable = pool;
  const typed: LoopPool<number, number> = pool;
  void disposable;
  await typed.put(3);
  return pool.size;
}

import { firstValueFrom, of } from 'rxjs';
import { loopPool } from 'looppool';
import { workerPath } from './support/paths';

describe('transfer', () => {
  it('moves a task’s buffers to the worker, and the worker’s result buffers back, instead of copying them', async () => {
    const buffer = new ArrayBuffer(1024 * 1024);
    const result = await firstValueFrom(
      of(buffer).pipe(loopPool<ArrayBuffer, ArrayBuffer>(workerPath('buffers.ts'), { size: 1, transfer: (task) => [task] })),
    );
    expect(buffer.byteLength).toBe(0); // detached here: it was transferred, not copied
    expect(result.byteLength).toBe(1024 * 1024);
    expect(new Uint8Array(result)[0]).toBe(42);
  });

  it('copies with worker processes, which cannot take memory from this one: the buffer stays usable here', async () => {
    const buffer = new ArrayBuffer(1024 * 1024);
    const result = await firstValueFrom(
      of(buffer).pipe(loopPool<ArrayBuffer, ArrayBuffer>(workerPath('buffers.ts'), { size: 1, workerType: 'process', transfer: (task) => [task] })),
    );
    expect(buffer.byteLength).toBe(1024 * 1024); // copied, not detached
    expect(new Uint8Array(buffer)[0]).toBe(0);
    expect(result.byteLength).toBe(1024 * 1024);
    expect(new Uint8Array(result)[0]).toBe(42);
  });

  it('copies when no transfer is given', async () => {
    const buffer = new ArrayBuffer(16);
    const result = await firstValueFrom(of(buffer).pipe(loopPool<ArrayBuffer, ArrayBuffer>(workerPath('buffers.ts'), 1)));
    expect(buffer.byteLength).toBe(16);
    expect(new Uint8Array(buffer)[0]).toBe(0);
    expect(new Uint8Array(result)[0]).toBe(42);
  });

  it('rejects a transfer option that is not a function', () => {
    expect(() => loopPool(workerPath('buffers.ts'), { transfer: [] as never })).toThrow(
      new TypeError('Expected `transfer` to be a function, got [] (array)'),
    );
  });
});

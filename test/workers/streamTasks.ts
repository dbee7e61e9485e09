import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { range } from 'rxjs';

/** A streaming task: what it yields and how it reports. */
export type StreamTask =
  /**
   * `count` strings of `size` characters. Before every `report`th value, it writes how many
   * values it has pulled (a uint32, little-endian) at the start of the file `counter`: a
   * report that does not travel with the values, so the test reads it while they are on their way.
   * `tag` (one character, default `x`) follows the 8-digit number in each value: which task it came from.
   */
  | { readonly kind: 'generate'; readonly count: number; readonly size: number; readonly report: number; readonly counter: string; readonly tag?: string }
  /** Numbers `from` to `from + count - 1`, from an async generator. */
  | { readonly kind: 'numbers'; readonly from: number; readonly count: number }
  /**
   * Reads `path` with a FileHandle and yields 0, 1, 2, ... for ever; it writes `<marker>.open`
   * once it has yielded 3 values, and its `finally` closes the handle, waits `lingerMs` ms (a
   * timer, 0 by default: as a cleanup that flushes a stream takes turns of the loop), then
   * writes how many it yielded to `marker`.
   */
  | { readonly kind: 'file'; readonly path: string; readonly marker: string; readonly lingerMs?: number }
  /** `range(0, count)`: an Observable that emits everything at once. */
  | { readonly kind: 'observable'; readonly count: number };

async function* generate(count: number, size: number, report: number, counter: string, tag: string): AsyncGenerator<string> {
  const filler = tag + 'x'.repeat(size - 9);
  const fd = openSync(counter, 'r+');
  const pulled = Buffer.alloc(4);
  try {
    for (let i = 1; i <= count; i++) {
      if (i % report === 0 || i === count) {
        pulled.writeUInt32LE(i);
        writeSync(fd, pulled, 0, 4, 0);
      }
      yield String(i).padStart(8, '0') + filler;
    }
  } finally {
    closeSync(fd);
  }
}

async function* numbers(from: number, count: number): AsyncGenerator<number> {
  for (let i = from; i < from + count; i++) yield i;
}

async function* file(path: string, marker: string, lingerMs: number): AsyncGenerator<number> {
  const handle = await open(path, 'r');
  let yielded = 0;
  try {
    const buffer = Buffer.alloc(1);
    for (;;) {
      await handle.read(buffer, 0, 1, 0);
      yield yielded++;
      if (yielded === 3) writeFileSync(`${marker}.open`, '');
    }
  } finally {
    await handle.close();
    if (lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, lingerMs));
    writeFileSync(marker, String(yielded));
  }
}

/** Runs one stream task: what stream.ts's worker does (kept apart so that other worker modules reuse it). */
export function runStreamTask(task: StreamTask): AsyncIterable<number | string> | ReturnType<typeof range> {
  switch (task.kind) {
    case 'generate':
      return generate(task.count, task.size, task.report, task.counter, task.tag ?? 'x');
    case 'numbers':
      return numbers(task.from, task.count);
    case 'file':
      return file(task.path, task.marker, task.lingerMs ?? 0);
    case 'observable':
      return range(0, task.count);
  }
}

import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerType } from 'looppool';

/**
 * Counters a test shares with its workers: an `Int32Array` over a `SharedArrayBuffer` for
 * threads, or a directory for worker processes (which share no memory), where adding one
 * creates the next numbered directory: `mkdir` is atomic, so concurrent adds from several
 * processes each get their own number, as `Atomics.add` does.
 */
export type Tally = Int32Array | string;

/** The directories of this process's tallies, removed when it exits. */
const made: string[] = [];

/** A tally of `slots` counters, all 0, that workers of `workerType` can reach. */
export function tally(workerType: WorkerType, slots = 8): Tally {
  if (workerType === 'thread') return new Int32Array(new SharedArrayBuffer(slots * 4));
  if (made.length === 0) process.once('exit', () => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const dir = mkdtempSync(join(tmpdir(), 'looppool-tally-'));
  made.push(dir);
  return dir;
}

/** Adds one to counter `slot`; returns its value before, as `Atomics.add` does. */
export function add(counters: Tally, slot: number): number {
  if (typeof counters !== 'string') return Atomics.add(counters, slot, 1);
  mkdirSync(join(counters, String(slot)), { recursive: true });
  for (let next = 0; ; next++) {
    try {
      mkdirSync(join(counters, String(slot), String(next)));
      return next;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    }
  }
}

/** The value of counter `slot`. */
export function load(counters: Tally, slot: number): number {
  if (typeof counters !== 'string') return Atomics.load(counters, slot);
  try {
    return readdirSync(join(counters, String(slot))).length;
  } catch {
    return 0;
  }
}

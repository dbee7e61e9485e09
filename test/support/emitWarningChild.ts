/**
 * Run by test/supervision.test.ts in a process of its own (a warning raised with an error made
 * inside jest's sandbox is refused by the real `process.emitWarning`): sends a task whose
 * `ctx.emit` value cannot be cloned through the operator (`operator`) or a pool (`pool`), with
 * nobody listening for errors, and prints as JSON what came out, how it ended, and the names
 * of the process warnings raised.
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { createPool, loopPool } from 'looppool';
import { workerPath } from './paths';

const warnings: string[] = [];
process.on('warning', (warning) => warnings.push(warning.name));
const report = (values: unknown[], error?: unknown): void =>
  // Warnings are raised on the next tick: report after them.
  void setImmediate(() => console.log(JSON.stringify({ values, error: (error as Error | undefined)?.name ?? null, warnings })));

async function main(): Promise<void> {
  const emitter = workerPath('emitter.ts');
  if (process.argv[2] === 'operator') {
    try {
      report(await lastValueFrom(from(['emit-function', 'b']).pipe(loopPool<string, string>(emitter, 1), toArray())));
    } catch (error) {
      report([], error);
    }
    return;
  }
  const pool = createPool<string, string>(emitter, 1);
  const values: string[] = [];
  pool.results$.subscribe((value) => values.push(value as string));
  try {
    await pool.put('emit-function');
    await pool.put('b');
    await pool.stop();
    report(values);
  } catch (error) {
    await pool.terminate();
    report(values, error);
  }
}

void main();

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * `npm run bench` takes minutes, so the suite runs its shortest scenario once: every
 * contender starts, answers one task, and stops, as the full benchmark needs them to.
 */
describe('benchmark', () => {
  it('starts every contender and gets a first result from each (scenario e, one round)', async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(__dirname, '..', 'bench', 'scenario.ts'), 'e', '1'], {
      env: { ...process.env, BENCH_BURN_PER_MS: '100000' },
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { measurements: { name: string; value: number }[] };
    expect(result.measurements.map((m) => m.name)).toEqual([
      'main thread',
      'looppool (operator)',
      'looppool (operator on a pool)',
      'looppool (pool.process)',
      'piscina',
      'tinypool',
      'workerpool',
      'poolifier',
      'threads.js Pool',
      'looppool processes (pool.process)',
      'tinypool (child_process)',
    ]);
    for (const { value } of result.measurements) expect(value).toBeGreaterThan(0);
  });
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The `limit` row of `npm run bench`: the featureless hand-written pool, in scenario (a) only. */
describe('benchmark limit', () => {
  it('runs every tiny task of scenario (a) through the featureless pool (one round)', async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(__dirname, '..', 'bench', 'scenario.ts'), 'a', '1'], {
      env: { ...process.env, BENCH_BURN_PER_MS: '100000', BENCH_ONLY: 'limit,limit at 32 in flight' },
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { measurements: { name: string; value: number }[] };
    expect(result.measurements.map((m) => m.name)).toEqual(['limit', 'limit at 32 in flight']);
    expect(result.measurements[0]!.value).toBeGreaterThan(0);
  });
});

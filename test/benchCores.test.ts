import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** `npm run bench:cores`: the demo's transform on one bare thread and on two, with no pool. */
describe('benchmark of two bare threads', () => {
  it('times the transform on one thread and on two, and prints the speed-up (one round, 4,096 records)', async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(__dirname, '..', 'bench', 'cores.ts'), '--records', '4096'], {
      env: { ...process.env, BENCH_ROUNDS: '1' },
    });
    expect(stdout).toContain('4,096 records');
    expect(stdout).toMatch(/round 1: one thread \d+\.\d\d s, two threads \d+\.\d\d s: \d+\.\d\d×/);
    expect(stdout).toMatch(/Speed-up of two bare threads: median \d+\.\d\d×/);
  });
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const examples = join(__dirname, '..', 'examples');

/** The examples in the docs run as written, through the built package. */
describe('examples', () => {
  it('the README example prints the squares of 1 to 10 in order', async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(examples, 'readme', 'main.ts')]);
    expect(stdout.trim().split('\n').map(Number)).toEqual([1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
  });

  it('the demo reports every record and a speed-up', async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(examples, 'demo.ts')], {
      env: { ...process.env, DEMO_ITEMS: '2000' },
    });
    expect(stdout).toMatch(/items: +2,000\n/);
    expect(stdout).toMatch(/speed-up: +\d+\.\d\dx on \d+ threads/);
  });
});

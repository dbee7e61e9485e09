import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStatsd } from './support/statsdServer';

const execFileAsync = promisify(execFile);
const examples = join(__dirname, '..', 'examples');

/** The examples in the docs run as written, through the built package. */
describe('examples', () => {
  it('the README example prints the squares of 1 to 10 in order', async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(examples, 'readme', 'main.ts')]);
    expect(stdout.trim().split('\n').map(Number)).toEqual([1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
  });

  it('the pricing pipeline prints running totals in input order', async () => {
    const { stdout } = await execFileAsync(process.execPath, [join(examples, 'pricing', 'main.ts')]);
    expect(stdout.trim().split('\n').map(Number)).toEqual([6, 16, 21]);
  });

  // The demo (examples/demo.ts) has a file of its own: test/demo.test.ts.

  describe('Looppool ports', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      server = createServer((request, response) => {
        response.setHeader('server', `test-server${request.url}`);
        response.end('hello');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('the fetch worker answers [url, server header] for every URL, then the pool stops', async () => {
      const urls = ['/a', '/b', '/c', '/d', '/e'].map((path) => `${base}${path}`);
      const { stdout } = await execFileAsync(process.execPath, [join(examples, 'fetch', 'main.ts'), ...urls]);
      const results = stdout.trim().split('\n').map((line) => JSON.parse(line) as [string, string]);
      expect(results.sort()).toEqual(urls.map((url) => [url, `test-server${new URL(url).pathname}`]));
    });

    it('the instrumented worker names the worker and thread of each result, and reports its figures to statsd', async () => {
      const statsd = await startStatsd();
      const { stdout, stderr } = await execFileAsync(process.execPath, [join(examples, 'instrumented', 'main.ts')], {
        env: { ...process.env, STATSD: `127.0.0.1:${statsd.port}` },
      });
      const gauges = await statsd.gauges();
      await statsd.stop();
      expect(stderr).toMatch(/^instrumented#0: \d+ done, elu \d\.\d{3}, loop delay p99 \d+\.\d ms, heap \d+\.\d MB$/m);
      expect(gauges).toHaveProperty(['looppool.instrumented.worker.0.elu']);
      expect(gauges).toHaveProperty(['looppool.instrumented.worker.1.heap.used']);
      const results = stdout.trim().split('\n').map((line) => JSON.parse(line) as { message: string; worker: number; thread: string });
      expect(results.map((r) => r.message)).toEqual(['alpha', 'beta', 'gamma', 'delta']);
      for (const result of results) {
        expect(result.thread).toMatch(new RegExp(`^instrumented pool worker ${result.worker} \\(thread \\d+\\)$`));
      }
    });
  });
});

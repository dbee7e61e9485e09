import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { within } from './support/until';

/**
 * The tests' own TCP proxy (test/support/tcpProxy.ts) must never keep a process from exiting:
 * a jest run whose every test passed once hung at exit in CI, spinning in Node's cleanup on a
 * socket reset right after its own end().
 */
describe('the test TCP proxy', () => {
  it('resets a socket that has just ended its side, and the process exits by itself', async () => {
    const child = spawn(process.execPath, [join(__dirname, 'support', 'proxyExitChild.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const code = await within(exited, 15_000, 'the child did not exit within 15 s after closing everything');
      expect({ code, out: out.trim() }).toEqual({ code: 0, out: 'closed' });
    } finally {
      child.kill('SIGKILL');
    }
  }, 20_000);
});

import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Starts the child, waits for results to flow, sends SIGINT, and collects its report and exit code. */
function interrupt(mode: 'operator' | 'pool'): Promise<{ code: number | null; report: { taken: number; results: number; error: string | null } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'support', 'signalChild.ts'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready\n') && !child.killed) child.kill('SIGINT');
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = output.trim().split('\n').pop()!;
      resolve({ code, report: JSON.parse(last) as { taken: number; results: number; error: string | null } });
    });
  });
}

describe('stopOnSignals', () => {
  it.each(['operator', 'pool'] as const)(
    'on SIGINT the %s stops taking input, finishes every input taken, and lets the process exit',
    async (mode) => {
      const { code, report } = await interrupt(mode);
      expect(code).toBe(0); // the process ended by itself: no handle left, no forced exit
      expect(report.error).toBe('PoolClosedError'); // the source had not completed
      expect(report.taken).toBeGreaterThanOrEqual(5);
      expect(report.results).toBe(report.taken); // nothing taken was lost
    },
  );
});

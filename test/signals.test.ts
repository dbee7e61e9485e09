import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerType } from 'looppool';

/**
 * Starts the child, waits for results to flow, sends SIGINT to its whole process group (as
 * Ctrl-C in a terminal does; worker processes run in a group of their own and do not get it,
 * not even one still booting), and collects its report and exit code.
 */
function interrupt(
  mode: 'operator' | 'pool',
  workerType: WorkerType,
): Promise<{ code: number | null; report: { taken: number; results: number; error: string | null } }> {
  return new Promise((resolve, reject) => {
    // Worker processes but the first boot 2 s late: Ctrl-C comes while one is still booting.
    const bootDir = mkdtempSync(join(tmpdir(), 'looppool-boot-'));
    const slowBoot = `--require ${join(__dirname, 'support', 'slowBoot.js')}`;
    const child = spawn(process.execPath, [join(__dirname, 'support', 'signalChild.ts'), mode, workerType], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true, // a process group of its own
      env: { ...process.env, NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} ${slowBoot}`, LOOPPOOL_TEST_SLOW_BOOT: bootDir },
    });
    let output = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('ready\n') || sent) return;
      sent = true;
      process.kill(-child.pid!, 'SIGINT');
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      rmSync(bootDir, { recursive: true, force: true });
      const last = output.trim().split('\n').pop()!;
      resolve({ code, report: JSON.parse(last) as { taken: number; results: number; error: string | null } });
    });
  });
}

describe('stopOnSignals', () => {
  it.each([
    ['operator', 'thread'],
    ['pool', 'thread'],
    ['operator', 'process'],
    ['pool', 'process'],
  ] as const)(
    'on SIGINT to its process group the %s (%s workers) stops taking input, finishes every input taken, and lets the process exit',
    async (mode, workerType) => {
      const { code, report } = await interrupt(mode, workerType);
      expect(code).toBe(0); // the process ended by itself: no handle left, no forced exit
      expect(report.error).toBe('PoolClosedError'); // the source had not completed
      expect(report.taken).toBeGreaterThanOrEqual(5);
      expect(report.results).toBe(report.taken); // nothing taken was lost
    },
  );
});

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerType } from 'looppool';

const signalChild = join(__dirname, 'support', 'signalChild.ts');

/** How the child is started: by node itself, or under a wrapper that forwards signals to it. */
type Wrapper = 'node' | 'npm run' | 'tsx';

interface Interruption {
  readonly mode: 'operator' | 'pool';
  readonly workerType: WorkerType;
  /** SIGINTs sent to the child's process group, 3 ms apart. */
  readonly signals?: number;
  readonly wrapper?: Wrapper;
}

/** How the child ended, and the report it printed last (null if it printed none: it was killed). */
interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly report: { taken: number; results: number; error: string | null } | null;
}

/** The command that runs signalChild.ts with `args`, under `wrapper`, from `dir` (a scratch folder). */
function command(wrapper: Wrapper, args: string[], dir: string): [string, string[]] {
  if (wrapper === 'tsx') return [process.execPath, [require.resolve('tsx/cli'), signalChild, ...args]];
  if (wrapper === 'node') return [process.execPath, [signalChild, ...args]];
  const script = [process.execPath, signalChild, ...args].map((word) => JSON.stringify(word)).join(' ');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'signal-child', private: true, scripts: { child: script } }));
  return ['npm', ['run', '--silent', 'child']];
}

/**
 * Starts the child, waits for results to flow, sends SIGINT to its whole process group (as
 * Ctrl-C in a terminal does; worker processes run in a group of their own and do not get it,
 * not even one still booting), and collects its report and exit code.
 */
function interrupt({
  mode,
  workerType,
  signals = 1,
  wrapper = 'node',
}: Interruption): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // Worker processes but the first boot 2 s late: Ctrl-C comes while one is still booting.
    const bootDir = mkdtempSync(join(tmpdir(), 'looppool-boot-'));
    const slowBoot = `--require ${join(__dirname, 'support', 'slowBoot.js')}`;
    const [file, args] = command(wrapper, [mode, workerType], bootDir);
    const child = spawn(file, args, {
      cwd: wrapper === 'npm run' ? bootDir : undefined,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true, // a process group of its own
      // tsx's loader by its path: npm runs the script from the scratch folder, where `tsx/cjs` does not resolve.
      env: { ...process.env, NODE_OPTIONS: `--require ${require.resolve('tsx/cjs')} ${slowBoot}`, LOOPPOOL_TEST_SLOW_BOOT: bootDir },
    });
    let output = '';
    let sent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('ready\n') || sent) return;
      sent = true;
      process.kill(-child.pid!, 'SIGINT');
      for (let i = 1; i < signals; i++) setTimeout(() => process.kill(-child.pid!, 'SIGINT'), 3 * i);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      rmSync(bootDir, { recursive: true, force: true });
      const last = output.trim().split('\n').pop()!;
      resolve({ code, signal, report: last.startsWith('{') ? (JSON.parse(last) as Outcome['report']) : null });
    });
  });
}

/** What a graceful stop leaves: the process ended by itself, every input taken came out. */
function expectDrained({ code, signal, report }: Outcome, wrapper: Wrapper = 'node'): void {
  // The process ended by itself: no handle left, no forced exit. npm, once its script has
  // ended, raises the signal it got again; the child's report says how the script ended.
  if (wrapper === 'npm run') expect([code, signal]).toEqual([null, 'SIGINT']);
  else expect(code).toBe(0);
  expect(report).not.toBeNull(); // not killed before it could report
  if (!report) return;
  expect(report.error).toBe('PoolClosedError'); // the source had not completed
  expect(report.taken).toBeGreaterThanOrEqual(5);
  expect(report.results).toBe(report.taken); // nothing taken was lost
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
      expectDrained(await interrupt({ mode, workerType }));
    },
  );

  it('takes two SIGINTs 3 ms apart as one Ctrl-C: the pool drains', async () => {
    expectDrained(await interrupt({ mode: 'pool', workerType: 'thread', signals: 2 }));
  });

  // A wrapper forwards the terminal's SIGINT to a child that already got it from the group.
  it.each(['npm run', 'tsx'] as const)('drains on one Ctrl-C under %s', async (wrapper) => {
    expectDrained(await interrupt({ mode: 'pool', workerType: 'thread', wrapper }), wrapper);
  });

  it('terminates on a second SIGINT that comes after the window', async () => {
    const child = spawn(process.execPath, [join(__dirname, 'support', 'signalTwice.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output === 'wired\n') child.kill('SIGINT');
      if (output === 'wired\nstop\n') setTimeout(() => child.kill('SIGINT'), 2_000); // well past the window
    });
    const signal = await new Promise((resolve) => child.on('exit', (_code, killedBy) => resolve(killedBy)));
    expect(output).toBe('wired\nstop\nterminate\n');
    expect(signal).toBe('SIGINT'); // raised again once terminated: the process ends as it would have
  });
});

/**
 * `npm run top:capture`: the capture of `looppool top` in docs/monitoring.md. Starts a busy
 * pool (3 workers, rows of 2 to 12 ms of CPU then as long waiting, one in fifty failing) with
 * `inspect: true`, runs `looppool top <its url>` in a tmux pane of 110×14, and prints the
 * screen after 5 s; then the plain lines it prints into a pipe, for 6 s. Needs tmux.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createPool } from 'looppool';

async function main(): Promise<void> {
  const pool = createPool<{ id: number; ms: number }, number>(join(__dirname, 'top-capture.worker.ts'), {
    name: 'etl',
    size: 3,
    concurrency: 2,
    statsInterval: 1_000,
    inspect: true,
  });
  pool.results$.subscribe();
  pool.errors$.subscribe();
  await pool.ready;
  let feeding = true;
  const feeders = Array.from({ length: 6 }, async (_, feeder) => {
    for (let id = feeder; feeding; id += 6) await pool.put({ id, ms: 2 + ((id * 7) % 11) }).catch(() => {});
  });
  const url = (await pool.inspectUrl)!;
  const socket = `looppool-capture-${process.pid}`;
  const { NODE_OPTIONS: _, ...env } = process.env;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env });
  try {
    tmux('new-session', '-d', '-s', 'top', '-x', '110', '-y', '14', `${process.execPath} ${join(__dirname, '..', 'dist', 'cli', 'main.js')} top ${url}`);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    process.stdout.write(tmux('capture-pane', '-p', '-t', 'top').replace(/\n+$/, '\n'));
    const plain = spawn(process.execPath, [join(__dirname, '..', 'dist', 'cli', 'main.js'), 'top', url], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    plain.stdout.pipe(process.stdout);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    plain.kill();
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
    feeding = false;
    await Promise.all(feeders);
    await pool.stop();
  }
}

void main();

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test support for the cluster transport: a real `nats-server` on a free loopback port with
 * JetStream in a temporary folder, and `looppool-worker` hosts, each stopped by the test that
 * started it.
 */

/** Whether `nats-server` can run here. */
export const natsInstalled = spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * `describe`, or `describe.skip` with one line saying how to install the server; with
 * `CI=true` a missing server fails the suite instead.
 */
export function describeWithNats(name: string, body: () => void): void {
  if (natsInstalled) return describe(name, body);
  if (process.env['CI'] === 'true') {
    return describe(name, () => {
      test('nats-server is installed', () => {
        throw new Error('nats-server is not on PATH; on CI it is required: apt-get install -y nats-server');
      });
    });
  }
  console.log(`${name}: skipped, nats-server is not installed (apt-get install -y nats-server)`);
  describe.skip(name, body);
}

export interface NatsServer {
  readonly url: string;
  /** With `tls`: the certificate of the CA that signed the server's certificate. */
  readonly caFile?: string;
  stop(): Promise<void>;
}

/**
 * Starts nats-server with JetStream on a free port; `auth` adds a user and password, `tls`
 * a certificate for 127.0.0.1 signed by a CA made for the occasion (with openssl).
 */
export async function startNats(auth?: { user: string; pass: string }, tls = false): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'looppool-nats-'));
  const args = ['-a', '127.0.0.1', '-p', '-1', '--ports_file_dir', dir, '-js', '-sd', join(dir, 'js')];
  const config: string[] = [];
  if (auth) config.push(`authorization { user: "${auth.user}", password: "${auth.pass}" }`);
  if (tls) {
    makeCertificates(dir);
    config.push(`tls { cert_file: "${join(dir, 'server.pem')}", key_file: "${join(dir, 'server.key')}" }`);
  }
  if (config.length > 0) {
    writeFileSync(join(dir, 'server.conf'), `${config.join('\n')}\n`);
    args.push('-c', join(dir, 'server.conf'));
  }
  const child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  let url: string | undefined;
  while (!url) {
    const ports = readdirSync(dir).find((name) => name.endsWith('.ports'));
    if (ports) {
      const parsed = JSON.parse(readFileSync(join(dir, ports), 'utf8') || '{}') as { nats?: string[] };
      url = parsed.nats?.[0];
    }
    if (url) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nats-server did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url,
    ...(tls ? { caFile: join(dir, 'ca.pem') } : {}),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A CA, and a certificate for 127.0.0.1 signed by it, in `dir`. */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]): void => {
    const result = spawnSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr || result.error}`);
  };
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=looppool test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'ext.cnf');
}

/** The built `looppool-worker` bin. */
const hostBin = join(__dirname, '..', '..', 'dist', 'host', 'main.js');

export interface Host {
  readonly child: ChildProcess;
  /** What it printed so far. */
  output(): string;
  /** Resolves once it printed a line matching `pattern`. */
  printed(pattern: RegExp, timeout?: number): Promise<void>;
  /** Resolves with its exit code (or signal) once it has exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** SIGKILLs it if still alive and waits for it. */
  kill(): Promise<void>;
}

/** Starts `looppool-worker <module> --nats <url> --pool <pool> ...`, with `nodeArgs` for node (V8 flags). */
export function startHost(module: string, url: string, pool: string, extra: string[] = [], nodeArgs: string[] = []): Host {
  const child = spawn(process.execPath, [...nodeArgs, hostBin, module, '--nats', url, '--pool', pool, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  let output = '';
  const waiters = new Set<() => void>();
  const add = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const waiter of [...waiters]) waiter();
      resolve(code ?? signal!);
    }),
  );
  return {
    child,
    output: () => output,
    exited,
    printed(pattern, timeout = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`looppool-worker did not print ${pattern} within ${timeout} ms; it printed:\n${output}`));
        }, timeout);
        const check = (): void => {
          if (!pattern.test(output)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

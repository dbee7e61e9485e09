import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

/**
 * What the test uses of webpack's API. webpack is loaded when its test runs, so that a checkout
 * whose node_modules predates it still typechecks (`npm install` brings it).
 */
interface Webpack {
  (config: unknown, done: (error: Error | null, stats?: { hasErrors(): boolean; toString(): string }) => void): void;
}

const execFileAsync = promisify(execFile);
const root = join(__dirname, '..');
const fixture = join(__dirname, 'fixtures', 'bundling');

/**
 * The fixture project of docs/bundling.md, copied to a folder of its own with looppool
 * installed as a user has it (node_modules/looppool, and its peer rxjs beside it; it has no
 * dependencies), built by a bundler and run: its workers square 1 to 4.
 */
describe('bundling (docs/bundling.md)', () => {
  let project: string;
  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), 'looppool-bundling-'));
    cpSync(fixture, project, { recursive: true });
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(root, join(project, 'node_modules', 'looppool'), 'dir');
    symlinkSync(join(root, 'node_modules', 'rxjs'), join(project, 'node_modules', 'rxjs'), 'dir');
  });
  afterEach(() => rmSync(project, { recursive: true, force: true }));

  /** Runs the built main file; resolves with what it printed, or rejects with its stderr. */
  const run = async (main: string): Promise<string> => {
    // A plain `node` as a user runs a bundle: no loader of the test run's (NODE_OPTIONS).
    const { NODE_OPTIONS: _loader, ...env } = process.env;
    const { stdout } = await execFileAsync(process.execPath, [join(project, 'out', main)], { cwd: project, env });
    return stdout.trim();
  };
  const failureOf = (main: string): Promise<string> =>
    run(main).then(
      (stdout) => `ran: ${stdout}`,
      (error: { stderr: string }) => error.stderr,
    );

  const esbuild = (entries: string[], options: Parameters<typeof build>[0]) =>
    build({
      absWorkingDir: project,
      entryPoints: entries.map((entry) => `src/${entry}`),
      bundle: true,
      platform: 'node',
      outdir: 'out',
      logLevel: 'silent',
      ...options,
    });

  it('esbuild, ES module: the worker as a second entry point, packages external', async () => {
    await esbuild(['main.mjs', 'square.worker.mjs'], { format: 'esm', packages: 'external', outExtension: { '.js': '.mjs' } });
    expect(await run('main.mjs')).toBe('[1,4,9,16]');
  });

  it('esbuild, CommonJS: looppool external in the main file, looppool/worker bundled into the worker', async () => {
    await esbuild(['main.cjs'], { format: 'cjs', external: ['looppool', 'rxjs'] });
    await esbuild(['square.worker.cjs'], { format: 'cjs' });
    expect(await run('main.js')).toBe('[1,4,9,16]');
  });

  // webpack and Rollup take 5 to 20 s under load: .ci/run builds with them on one Node version
  // only (LOOPPOOL_BUNDLERS=skip on the others); esbuild builds everywhere.
  const slow = process.env.LOOPPOOL_BUNDLERS === 'skip' ? it.skip : it;

  slow('webpack: two entries, looppool external (test/fixtures/bundling/webpack.config.cjs)', async () => {
    const webpack = require('webpack') as Webpack;
    const config: unknown = require(join(project, 'webpack.config.cjs'));
    const stats = await new Promise<{ hasErrors(): boolean; toString(): string }>((resolve, reject) =>
      webpack(config, (error, result) => (error || !result ? reject(error) : resolve(result))),
    );
    expect(stats.hasErrors() ? stats.toString() : '').toBe('');
    expect(await run('main.js')).toBe('[1,4,9,16]');
  });

  slow('Rollup: two inputs, looppool external (test/fixtures/bundling/rollup.config.mjs)', async () => {
    const { NODE_OPTIONS: _loader, ...env } = process.env;
    await execFileAsync(process.execPath, [join(root, 'node_modules', 'rollup', 'dist', 'bin', 'rollup'), '-c', 'rollup.config.mjs', '--silent'], { cwd: project, env });
    expect(await run('main.mjs')).toBe('[1,4,9,16]');
  });

  it('looppool bundled into the program: the error says the bundle is the cause and names the guide', async () => {
    await esbuild(['main.cjs', 'square.worker.cjs'], { format: 'cjs' });
    const stderr = await failureOf('main.js');
    expect(stderr).toMatch(/looppool's own worker entry .*bootstrap\.js is missing, which happens when looppool is bundled/);
    expect(stderr).toContain('docs/bundling.md');
  });

  it('a worker module that is not an entry point of the bundle: the error says so and names the guide', async () => {
    await esbuild(['main.cjs'], { format: 'cjs', packages: 'external' });
    const stderr = await failureOf('main.js');
    expect(stderr).toMatch(/square\.worker\.js: no such module/);
    expect(stderr).toMatch(/In a bundled program, the worker module must be an entry point of its own.*docs\/bundling\.md/);
  });
});

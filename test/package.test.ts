import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const root = join(__dirname, '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const rxjsVersion = (JSON.parse(readFileSync(join(root, 'node_modules', 'rxjs', 'package.json'), 'utf8')) as { version: string }).version;

/** Whether this Node strips TypeScript types by itself (22.18+, 23.6+, 24+; 22.6+ with a flag). */
const stripsTypes = Boolean((process.features as { typescript?: unknown }).typescript);

/**
 * The package as a user installs it: `npm pack`, then `npm install` of the tarball, beside
 * rxjs 7.8, in a project of its own. It is used through `require` and through `import`, in
 * processes of their own with no TypeScript loader, and type-checked under `strict` with
 * `node16` and with `node10` resolution.
 */
describe('the packed package, installed in a consumer project', () => {
  let consumer: string;

  beforeAll(() => {
    consumer = mkdtempSync(join(tmpdir(), 'looppool-consumer-'));
    // npm test has just built dist/: pack it as it is.
    const [{ filename }] = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', consumer], { cwd: root, encoding: 'utf8' }),
    ) as Array<{ filename: string }>;
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    execFileSync(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', `./${filename}`, `rxjs@${rxjsVersion}`],
      { cwd: consumer, env: withoutLoader, stdio: 'pipe' },
    );
    for (const [name, text] of Object.entries(files)) writeFileSync(join(consumer, name), text);
  }, 180_000);

  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  const node = async (...args: string[]): Promise<unknown> => {
    const { stdout } = await execFileAsync(process.execPath, args, { cwd: consumer, env: withoutLoader });
    return JSON.parse(stdout);
  };

  const typecheck = (project: string) =>
    execFileAsync(process.execPath, [tsc, '-p', join(consumer, project), '--typeRoots', join(root, 'node_modules', '@types')], {
      cwd: consumer,
      env: withoutLoader,
    });

  it('works through require', async () => {
    await expect(node('main.cjs')).resolves.toEqual({ results: [2, 4, 6], errorBase: 'function', testing: 'function' });
  });

  it('works through import, sharing one copy of the library with require', async () => {
    await expect(node('main.mjs')).resolves.toEqual({ results: [3, 6, 9], inline: [-1, -2], sameClasses: true });
  });

  it('does not install hot-shots, prom-client nor @opentelemetry/api, and says to install them when they are needed', async () => {
    await expect(node('metrics.cjs')).resolves.toEqual({
      hotShots: false,
      message: expect.stringContaining("the package 'hot-shots' is not installed: run `npm install hot-shots`"),
      withClient: 'ok',
      promClient: "registerPoolMetrics needs the package 'prom-client', which is not installed: run `npm install prom-client`",
      otelApi: "registerWorkerTracing needs the package '@opentelemetry/api', which is not installed: run `npm install @opentelemetry/api`",
      optionalPeers: [],
    });
  });

  it('type-checks every public form under strict, node16 resolution, from CommonJS and ES modules', async () => {
    await expect(typecheck('tsconfig.json')).resolves.toBeDefined();
  });

  it('type-checks them under node10 resolution, subpaths included', async () => {
    await expect(typecheck('tsconfig.node10.json')).resolves.toBeDefined();
  });

  it("gives a misspelt option of loopPool(...) TypeScript's \"Did you mean\", as createPool(...) does", async () => {
    const failed = await typecheck('tsconfig.typo.json').then(
      () => undefined,
      (error: { stdout: string }) => error.stdout,
    );
    // One error per call, each (whichever overloads it lists) with TypeScript's suggestion.
    const errors = failed?.split(/^(?=typo\.ts\()/m).filter((block) => block.startsWith('typo.ts(')) ?? [];
    expect(errors).toHaveLength(4);
    for (const block of errors) expect(block).toContain("Did you mean to write 'concurrency'?");
    expect(failed).not.toContain("not assignable to parameter of type 'LoopPool<");
  });

  (stripsTypes ? it : it.skip)(
    `loads .ts and .mts worker modules with no loader, since this Node (${process.version}) strips types`,
    async () => {
      await expect(node('typescript.cjs', 'square.worker.ts', 'cube.worker.mts', 'enum.worker.ts')).resolves.toEqual([
        { results: [1, 4, 9] },
        { results: [1, 8, 27] },
        {
          error: 'WorkerLoadError',
          message: expect.stringContaining('Node strips TypeScript types but cannot run syntax that needs transforming'),
        },
      ]);
    },
  );

  (stripsTypes ? it.skip : it)(
    `says to register tsx when a .ts worker module cannot be parsed, since this Node (${process.version}) does not strip types`,
    async () => {
      const advice = 'no TypeScript loader is registered in this process: register tsx';
      await expect(node('typescript.cjs', 'square.worker.ts', 'cube.worker.mts')).resolves.toEqual([
        { error: 'WorkerLoadError', message: expect.stringContaining(advice) },
        { error: 'WorkerLoadError', message: expect.stringContaining(advice) },
      ]);
    },
  );
});

/** No TypeScript loader: a plain JavaScript user. */
const { NODE_OPTIONS: _, ...withoutLoader } = process.env;

const compilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: false,
  target: 'ES2022',
  lib: ['ES2022'],
  types: ['node'],
};

const files: Record<string, string> = {
  'double.worker.cjs': `const { defineWorker } = require('looppool/worker');\ndefineWorker((x) => x * 2);\n`,
  'triple.worker.mjs': `import { defineWorker } from 'looppool/worker';\ndefineWorker((x) => x * 3);\n`,
  'square.worker.ts': `import { defineWorker } from 'looppool/worker';\nexport default defineWorker((n: number) => n * n);\n`,
  'cube.worker.mts': `import { defineWorker } from 'looppool/worker';\nexport default defineWorker((n: number) => n ** 3);\n`,
  'enum.worker.ts': `import { defineWorker } from 'looppool/worker';\nenum Offset { None }\nexport default defineWorker((n: number) => n + Offset.None);\n`,
  'lookup.worker.ts': `
import { defineWorker, type WorkerContext } from 'looppool/worker';
let table = new Map<string, number>();
export default defineWorker({
  init(ctx: WorkerContext<{ entries: Array<[string, number]> }>) {
    table = new Map(ctx.workerData.entries);
  },
  process(key: string, ctx) {
    void ctx.signal;
    return table.get(key) ?? null;
  },
});
`,
  'main.cjs': `
const { from, lastValueFrom, toArray } = require('rxjs');
const { loopPool, LoopPoolError } = require('looppool');
const { inlineWorker } = require('looppool/testing');
lastValueFrom(from([1, 2, 3]).pipe(loopPool('./double.worker.cjs', { size: 1, ordered: true }), toArray()))
  .then((results) => console.log(JSON.stringify({ results, errorBase: typeof LoopPoolError, testing: typeof inlineWorker })));
`,
  'main.mjs': `
import { createRequire } from 'node:module';
import { from, lastValueFrom, toArray } from 'rxjs';
import { loopPool, TaskError } from 'looppool';
import { inlineWorker } from 'looppool/testing';
const required = createRequire(import.meta.url)('looppool');
const results = await lastValueFrom(from([1, 2, 3]).pipe(loopPool(new URL('./triple.worker.mjs', import.meta.url), { size: 1, ordered: true }), toArray()));
const inline = await lastValueFrom(from([1, 2]).pipe(loopPool(inlineWorker((x) => -x), 1), toArray()));
console.log(JSON.stringify({ results, inline, sameClasses: required.TaskError === TaskError }));
`,
  'metrics.cjs': `
const { join } = require('node:path');
const { createPool } = require('looppool');
let hotShots = true;
try { require.resolve('hot-shots'); } catch { hotShots = false; }
let message;
try { createPool(join(__dirname, 'double.worker.cjs'), { size: 1, metrics: { statsd: { host: '127.0.0.1' } } }); } catch (error) { message = error.message; }
const client = { gauge() {}, increment() {}, timing() {}, close(done) { done(); } };
const pool = createPool(join(__dirname, 'double.worker.cjs'), { size: 1, metrics: { statsd: client } });
// looppool/prometheus loads without prom-client, and says to install it when it is needed.
const { registerPoolMetrics } = require('looppool/prometheus');
let promClient;
try { registerPoolMetrics(pool); } catch (error) { promClient = error.message; }
let otelApi;
try { require('looppool/otel').registerWorkerTracing(); } catch (error) { otelApi = error.message; }
const optionalPeers = Object.keys(require.cache).filter((file) => /prom-client|@opentelemetry/.test(file));
pool.put(1).then(() => pool.stop()).then(() => console.log(JSON.stringify({ hotShots, message, withClient: 'ok', promClient, otelApi, optionalPeers })));
`,
  'typescript.cjs': `
const { join } = require('node:path');
const { from, lastValueFrom, toArray } = require('rxjs');
const { loopPool } = require('looppool');
const run = (file) => lastValueFrom(from([1, 2, 3]).pipe(loopPool(join(__dirname, file), { size: 1, ordered: true }), toArray()))
  .then((results) => ({ results }), (error) => ({ error: error.name, message: error.message }));
Promise.all(process.argv.slice(2).map(run)).then((outcomes) => console.log(JSON.stringify(outcomes)));
`,
  // Every public form, checked under strict; an OperatorFunction or a pool of the wrong type fails to compile.
  'forms.ts': `
import { from, type Observable, type OperatorFunction } from 'rxjs';
import { createPool, loopPool, TaskError, type LoopPool, type LoopPoolOptions, type Settled } from 'looppool';
import { defineWorker, type WorkerContext, type WorkerDefinition } from 'looppool/worker';
import { inlineWorker } from 'looppool/testing';
import { join } from 'node:path';

const square: OperatorFunction<number, number> = loopPool<typeof import('./square.worker')>(join(__dirname, 'square.worker.js'), 4);
const pair: OperatorFunction<number, string> = loopPool<number, string>('./w.js', { size: 2, ordered: true });
const pool: LoopPool<number, number> = createPool<typeof import('./square.worker')>(join(__dirname, 'square.worker.js'), 2);
const lookups: OperatorFunction<string, number | null> = loopPool<typeof import('./lookup.worker')>('./lookup.worker.js', {
  workerData: { entries: [['a', 1]] },
});
// @ts-expect-error: workerData is checked against the worker's
createPool<typeof import('./lookup.worker')>('./lookup.worker.js', { workerData: { entries: 1 } });
declare const flag: boolean;
const maybe: OperatorFunction<number, number | Settled<number, number>> = loopPool<typeof import('./square.worker')>('./w.js', { settle: flag });
// @ts-expect-error: with a boolean settle, the output may be records
const notPlain: OperatorFunction<number, number> = loopPool<number, number>('./w.js', { settle: flag });
const bare: WorkerDefinition<number, string, unknown> = defineWorker(async (x: number, ctx) => \`\${x}\${ctx.index}\`);
const withInit: WorkerDefinition<string, number, { n: number }> = defineWorker({
  init(ctx: WorkerContext<{ n: number }>) { void ctx.workerData.n; },
  process: (x: string, ctx) => x.length + ctx.workerData.n,
});
const inline: OperatorFunction<number, string> = loopPool(inlineWorker(bare), 1);
const options: LoopPoolOptions = { size: 2 };
declare const error: TaskError;
const input: unknown = error.input;
const out: Observable<number> = from([1]).pipe(square);
export async function scoped(): Promise<void> {
  await using scopedPool = createPool<typeof import('./square.worker')>(join(__dirname, 'square.worker.js'), 1);
  await scopedPool.put(2);
}
export { square, pair, pool, lookups, maybe, notPlain, withInit, inline, options, input, out };
`,
  'types.cts': `
import { loopPool, TaskError, type LoopPoolOptions } from 'looppool';
import { defineWorker } from 'looppool/worker';
import { inlineWorker } from 'looppool/testing';
const options: LoopPoolOptions = { size: 2, ordered: true };
export const inline = loopPool(inlineWorker(defineWorker((x: number) => x)), 1);
const operator = loopPool<number, string>('./w.js', options);
const definition = defineWorker((x: number) => String(x));
export { operator, definition, TaskError };
`,
  'types.mts': `
import { loopPool, WorkerLoadError } from 'looppool';
import { defineWorker, type WorkerContext } from 'looppool/worker';
const operator = loopPool<number, string>(new URL('./w.js', import.meta.url), 2);
const definition = defineWorker({ init(ctx: WorkerContext) { void ctx.index; }, process: async (x: number) => x + 1 });
export { operator, definition, WorkerLoadError };
`,
  'typo.ts': `
import { createPool, loopPool } from 'looppool';
loopPool('./w.js', { concurency: 2 });
loopPool<number, number>('./w.js', { concurency: 2 });
loopPool<typeof import('./square.worker')>('./w.js', { concurency: 2 });
createPool('./w.js', { concurency: 2 });
`,
  'tsconfig.json': JSON.stringify({
    compilerOptions: { ...compilerOptions, module: 'node16', moduleResolution: 'node16', lib: ['ES2022', 'esnext.disposable'] },
    files: ['forms.ts', 'types.cts', 'types.mts'],
  }),
  'tsconfig.node10.json': JSON.stringify({
    compilerOptions: { ...compilerOptions, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
    files: ['forms.ts', 'types.cts'],
  }),
  'tsconfig.typo.json': JSON.stringify({
    compilerOptions: { ...compilerOptions, module: 'node16', moduleResolution: 'node16' },
    files: ['typo.ts'],
  }),
};

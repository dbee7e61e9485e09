import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const root = join(__dirname, '..');

/**
 * The built package as a user installs it: a consumer folder with `looppool` in its
 * node_modules, used through `require` and through `import`, in processes of their own with
 * no TypeScript loader, and type-checked under `nodenext` resolution.
 */
describe('the built package', () => {
  let consumer: string;

  beforeAll(() => {
    consumer = mkdtempSync(join(tmpdir(), 'looppool-consumer-'));
    mkdirSync(join(consumer, 'node_modules'));
    symlinkSync(root, join(consumer, 'node_modules', 'looppool'), 'dir');
    symlinkSync(join(root, 'node_modules', 'rxjs'), join(consumer, 'node_modules', 'rxjs'), 'dir');
    const files: Record<string, string> = {
      'double.worker.cjs': `const { defineWorker } = require('looppool/worker');\ndefineWorker((x) => x * 2);\n`,
      'triple.worker.mjs': `import { defineWorker } from 'looppool/worker';\ndefineWorker((x) => x * 3);\n`,
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
const results = await lastValueFrom(from([1, 2, 3]).pipe(loopPool('./triple.worker.mjs', { size: 1, ordered: true }), toArray()));
const inline = await lastValueFrom(from([1, 2]).pipe(loopPool(inlineWorker((x) => -x), 1), toArray()));
console.log(JSON.stringify({ results, inline, sameClasses: required.TaskError === TaskError }));
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
      'tsconfig.json': JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: [], skipLibCheck: false },
        files: ['types.cts', 'types.mts'],
      }),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(consumer, name), text);
  });

  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  /** No TypeScript loader: a plain JavaScript user. */
  const { NODE_OPTIONS: _, ...env } = process.env;

  const node = async (script: string): Promise<unknown> => {
    const { stdout } = await execFileAsync(process.execPath, [script], { cwd: consumer, env });
    return JSON.parse(stdout);
  };

  it('works through require', async () => {
    await expect(node('main.cjs')).resolves.toEqual({ results: [2, 4, 6], errorBase: 'function', testing: 'function' });
  });

  it('works through import, sharing one copy of the library with require', async () => {
    await expect(node('main.mjs')).resolves.toEqual({ results: [3, 6, 9], inline: [-1, -2], sameClasses: true });
  });

  it('type-checks from CommonJS and ES module consumers', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const typeRoots = join(root, 'node_modules', '@types');
    await expect(
      execFileAsync(process.execPath, [tsc, '-p', consumer, '--typeRoots', typeRoots, '--types', 'node'], { cwd: consumer, env }),
    ).resolves.toBeDefined();
  });
});

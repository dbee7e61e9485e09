/**
 * The published declarations compile in a user's project with `skipLibCheck: false`, under
 * every TypeScript, `@types/node` and `moduleResolution` the README lists: a consumer
 * (test/types/consumer/consumer.ts, as a `.cts` and an `.mts` file) is compiled against a copy
 * of the package as npm would install it. The compilers and typings are devDependencies under
 * npm aliases (`typescript-7`, `@types/node-26`, ...); the project itself builds with TS 5.9.
 *
 * Every combination is about a minute of one core: `.ci/run` sets LOOPPOOL_TYPES_MATRIX=run on
 * one Node version; otherwise a corner of each compiler runs.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = join(__dirname, '..');
const compilers = { '5.9': 'typescript', '7': 'typescript-7' } as const;
const nodeTypes = ['20', '22', '24', '26'] as const;
const resolutions = ['node16', 'nodenext', 'bundler'] as const;
type Combination = readonly [keyof typeof compilers, (typeof nodeTypes)[number], (typeof resolutions)[number]];

const full = process.env['LOOPPOOL_TYPES_MATRIX'] === 'run';
const combinations: Combination[] = full
  ? Object.keys(compilers).flatMap((ts) =>
      nodeTypes.flatMap((types) => resolutions.map((resolution) => [ts, types, resolution] as unknown as Combination)),
    )
  : [
      ['5.9', '20', 'node16'],
      ['7', '26', 'nodenext'],
      ['7', '26', 'bundler'],
    ];

/** A project as npm installs it: the package's manifest and dist, its peers, one `@types/node`. */
let project: string;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'looppool-consumer-'));
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, 'looppool'), { recursive: true });
  cpSync(join(root, 'package.json'), join(modules, 'looppool', 'package.json'));
  cpSync(join(root, 'dist'), join(modules, 'looppool', 'dist'), { recursive: true });
  symlinkSync(join(root, 'node_modules', 'rxjs'), join(modules, 'rxjs'));
  symlinkSync(join(root, 'node_modules', '@nats-io'), join(modules, '@nats-io'));
  mkdirSync(join(modules, '@types'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  for (const extension of ['cts', 'mts']) cpSync(join(__dirname, 'types', 'consumer', 'consumer.ts'), join(project, `consumer.${extension}`));
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Compiles the consumer; the compiler's output if it fails, '' if it passes. */
function compile([ts, types, resolution]: Combination): string {
  const typings = join(project, 'node_modules', '@types', 'node');
  rmSync(typings, { force: true });
  symlinkSync(join(root, 'node_modules', '@types', `node-${types}`), typings);
  const compilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: 'es2022',
    lib: ['es2023', 'esnext.disposable'],
    types: ['node'],
    module: resolution === 'bundler' ? 'esnext' : resolution,
    moduleResolution: resolution,
  };
  const files = resolution === 'bundler' ? ['consumer.mts'] : ['consumer.cts', 'consumer.mts'];
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
  const tsc = join(dirname(require.resolve(`${compilers[ts]}/package.json`)), 'bin', 'tsc');
  try {
    const env = { ...process.env, NODE_OPTIONS: '' }; // no tsx loader: it does not resolve from the project
    execFileSync(process.execPath, [tsc, '-p', project], { cwd: project, env, encoding: 'utf8', stdio: 'pipe' });
    return '';
  } catch (error) {
    const { stdout, stderr } = error as { stdout: string; stderr: string };
    return `${stdout}${stderr}`.trim();
  }
}

describe(`the declarations in a consumer project (skipLibCheck: false)${full ? '' : ', a corner of the matrix'}`, () => {
  it.each(combinations)('compile with TypeScript %s, @types/node %s, moduleResolution %s', (...combination) => {
    expect(compile(combination)).toBe('');
  }, 180_000); // a compile is synchronous: a busy machine makes it slow, never wrong
});

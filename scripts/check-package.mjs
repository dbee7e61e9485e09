// Checks the package as it would be published: packs it (without running `prepack` again:
// `npm test` has just built dist/), checks that its manifest runs nothing at install, then runs
// publint --strict over the packed files and arethetypeswrong over the tarball. Any finding
// fails, with the tools' own report.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const work = mkdtempSync(join(tmpdir(), 'looppool-pack-'));
const run = (command, args, cwd = root) => execFileSync(command, args, { cwd, stdio: 'inherit' });

try {
  const [{ filename }] = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' }),
  );
  const tarball = join(work, filename);
  const unpacked = join(work, 'package');
  mkdirSync(unpacked);
  run('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);
  // npm lists a package with any of these among those with install scripts, on every install
  // of it; the build runs before packing (prepack), never on a user's machine.
  const { scripts = {} } = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8'));
  const atInstall = ['preinstall', 'install', 'postinstall', 'prepare'].filter((name) => name in scripts);
  if (atInstall.length > 0) {
    console.error(`The packed package.json runs scripts at install: ${atInstall.join(', ')}. Build before packing (prepack) instead.`);
    throw new Error('install scripts');
  }
  // --pack false: the folder holds exactly the packed files.
  run(bin('publint'), ['--strict', '--pack', 'false', unpacked]);
  run(bin('attw'), [tarball, '--format', 'ascii']);
} catch {
  process.exitCode = 1; // the tool has printed its findings
} finally {
  rmSync(work, { recursive: true, force: true });
}

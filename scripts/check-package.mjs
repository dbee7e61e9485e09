// Checks the package as it would be published: packs it (without running `prepare` again:
// `npm test` has just built dist/), then runs publint --strict over the packed files and
// arethetypeswrong over the tarball. Any finding fails, with the tools' own report.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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
  // --pack false: the folder holds exactly the packed files.
  run(bin('publint'), ['--strict', '--pack', 'false', unpacked]);
  run(bin('attw'), [tarball, '--format', 'ascii']);
} catch {
  process.exitCode = 1; // the tool has printed its findings
} finally {
  rmSync(work, { recursive: true, force: true });
}

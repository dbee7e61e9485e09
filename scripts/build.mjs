// Builds dist/: CommonJS and .d.ts from tsc, then an ES module wrapper per entry point.
// The wrappers re-export the CommonJS build, so `import` and `require` share one copy of
// the library (one set of error classes for `instanceof`, one worker registry).
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = ['index', 'worker/index', 'testing/index', 'nats/index', 'prometheus/index', 'otel/index'];

rmSync(join(root, 'dist'), { recursive: true, force: true });
try {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
} catch {
  process.exit(1); // tsc has printed the errors
}

const require = createRequire(import.meta.url);
for (const entry of entries) {
  const file = join(root, 'dist', entry);
  const names = Object.keys(require(`${file}.js`)).filter((name) => name !== '__esModule');
  writeFileSync(
    `${file}.mjs`,
    `import cjs from './index.js';\nexport const { ${names.join(', ')} } = cjs;\n`,
  );
  writeFileSync(`${file}.d.mts`, `export * from './index.js';\n`);
}

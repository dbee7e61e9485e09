import { existsSync } from 'node:fs';

/** Where the bundling guide is, for messages. */
export const bundlingGuide = 'docs/bundling.md in the looppool repository';

/** Entry files already found, so that each is looked for once per process. */
const found = new Set<string>();

/**
 * Why a worker cannot start when `path`, one of looppool's own entry files (a thread's
 * bootstrap, a worker process's main), is missing; undefined when it is there. It goes missing
 * when looppool is bundled into a program: its code then runs from the bundle's folder, where
 * its entry files are not.
 */
export function missingOwnFile(path: string): string | undefined {
  if (found.has(path)) return undefined;
  if (existsSync(path)) {
    found.add(path);
    return undefined;
  }
  return (
    `looppool's own worker entry ${path} is missing, which happens when looppool is bundled into the program: ` +
    'its workers start from its installed files. Keep `looppool` external to the bundle (esbuild --packages=external ' +
    `or --external:looppool; webpack externals; Rollup external) and install it beside the bundle; see ${bundlingGuide}`
  );
}

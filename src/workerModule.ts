import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { show } from './validate';

/**
 * Resolves the `worker` argument to an absolute module path: an absolute path stays as it
 * is, a relative path is taken from the current directory (not from looppool's files), and a
 * `file:` URL (a `URL` or a string) becomes its path.
 */
export function resolveWorkerModule(worker: unknown): string {
  if (worker instanceof URL || (typeof worker === 'string' && worker.startsWith('file:'))) {
    const url = new URL(worker);
    if (url.protocol !== 'file:') {
      throw new TypeError(`Expected \`worker\` to be a file: URL, got ${url.href} (${url.protocol} URL)`);
    }
    return fileURLToPath(url);
  }
  if (typeof worker !== 'string' || worker === '') {
    throw new TypeError(`Expected \`worker\` to be a module path or a file: URL, got ${show(worker)}`);
  }
  return isAbsolute(worker) ? worker : resolve(worker);
}

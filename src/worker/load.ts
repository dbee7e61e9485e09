import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bundlingGuide } from '../transport/ownFiles';
import { serializeError, type LoadFailure } from '../transport/protocol';
import type { WorkerDefinition } from './definition';
import { openRegistry } from './registry';

/** A worker's definition, its types unknown here. */
export type AnyDefinition = WorkerDefinition<unknown, unknown, unknown>;

/**
 * Loads the user's worker module (CommonJS, ES module, or TypeScript through a loader) and
 * returns the one definition it registered with `defineWorker`, in a thread or a worker process
 * alike. Throws a {@link DefinitionError} whose message says what to do when the module is
 * missing, does not define a worker, or is TypeScript that nothing can load.
 */
export async function loadDefinition(modulePath: string): Promise<AnyDefinition> {
  const registry = openRegistry();
  const file = modulePath.split(/[\\/]/).pop() ?? modulePath;
  /** The module itself is missing (not a module it imports). */
  const missing = (code: unknown, message: unknown): boolean =>
    (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && String(message).includes(`'${modulePath}'`);
  /** Why Node could not parse a TypeScript module, when that is the reason, as what to do about it. */
  const typescriptAdvice = (error: unknown): string | undefined => {
    if (!/\.[cm]?ts$/.test(modulePath)) return undefined;
    const { code } = error as { code?: unknown };
    if (code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
      return (
        'Node strips TypeScript types but cannot run syntax that needs transforming (enum, namespace, parameter properties): ' +
        'rewrite it as erasable syntax, or register tsx (`node --import tsx`)'
      );
    }
    if (code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING') {
      return 'Node does not strip types of files under node_modules: register tsx (`node --import tsx`), or point the pool at compiled JavaScript';
    }
    // A loader (tsx) registers a handler for .ts files; Node's own type stripping shows in process.features.
    const loaded =
      typeof (require.extensions as Record<string, unknown>)['.ts'] === 'function' ||
      Boolean((process.features as { typescript?: unknown }).typescript);
    if (loaded || !(error instanceof SyntaxError || code === 'ERR_UNKNOWN_FILE_EXTENSION')) return undefined;
    return (
      'a TypeScript module, and no TypeScript loader is registered in this process: register tsx ' +
      "(`node --import tsx main.ts`, or NODE_OPTIONS='--import tsx'), run on a Node version that strips types " +
      '(22.18+, 23.6+, 24+), or point the pool at the compiled .js file'
    );
  };
  const load = async (): Promise<void> => {
    if (/\.m[jt]s$/.test(modulePath)) {
      await import(pathToFileURL(modulePath).href);
      return;
    }
    try {
      require(modulePath);
    } catch (error) {
      const { code } = error as { code?: unknown };
      if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw error;
      await import(pathToFileURL(modulePath).href);
    }
  };
  try {
    await load();
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (missing(code, message)) {
      throw new DefinitionError(
        `no such module. A relative worker path resolves from process.cwd() (${process.cwd()}), not from the calling file; ` +
          `resolve it from the calling file: new URL('./${file}', import.meta.url) in an ES module, ` +
          `join(__dirname, '${file}') in CommonJS. In a bundled program, the worker module must be an entry point of ` +
          `its own, emitted where this path points: see ${bundlingGuide}`,
      );
    }
    const advice = typescriptAdvice(error);
    if (advice) throw new DefinitionError(advice, { cause: error });
    throw error;
  }
  const [definition, ...more] = registry.definitions;
  if (!definition) throw new DefinitionError('the module did not call defineWorker() at its top level');
  if (more.length > 0) throw new DefinitionError(`the module called defineWorker() ${more.length + 1} times${callers(modulePath, registry.callers)}`);
  return definition;
}

/**
 * Where the `defineWorker` calls came from, for the message: the files that made them, and,
 * when some are not the module itself, that it imports another worker module, and what to do.
 */
function callers(modulePath: string, files: ReadonlyArray<string | undefined> | undefined): string {
  const known = (files ?? []).filter((file): file is string => file !== undefined);
  if (known.length === 0) return '; call it once';
  const self = realPath(modulePath);
  const counts = new Map<string, number>();
  for (const file of known) counts.set(file, (counts.get(file) ?? 0) + 1);
  const listed = [...counts].map(([file, count]) => (count > 1 ? `${file} (${count} times)` : file)).join(', ');
  const imported = [...counts.keys()].filter((file) => realPath(file) !== self);
  if (imported.length === 0) return `, all in ${modulePath}; call it once`;
  return (
    `: in ${listed}. ${modulePath} imports another worker module (${imported.join(', ')}), whose defineWorker() ran too: ` +
    'import what you need from a file that does not call defineWorker(), or give the pool that worker module instead'
  );
}

/** `path` with its links resolved, as Node names a loaded module's file. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The module loaded, or failed to, in a way the message explains (not an error of the user's code). */
export class DefinitionError extends Error {}

/**
 * What went wrong while loading (or running `init`, with `during` 'init threw'), for the pool.
 * A {@link DefinitionError}'s message is the reason; its cause, if it has one, is what Node threw.
 */
export function loadFailure(error: unknown, during = 'the module threw while loading'): LoadFailure {
  if (!(error instanceof DefinitionError)) return { reason: during, error: serializeError(error) };
  return error.cause === undefined ? { reason: error.message } : { reason: error.message, error: serializeError(error.cause) };
}

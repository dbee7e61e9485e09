import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { from, lastValueFrom, Observable, of, toArray } from 'rxjs';
import {
  LoopPoolError,
  loopPool,
  SerializationError,
  TaskError,
  WorkerCrashError,
  WorkerLoadError,
} from 'looppool';
import type { CrashTask } from './workers/crashOnceFile';
import { workerPath } from './support/paths';
import { workerTypes } from './support/workerTypes';

const failure = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
};

const execFileAsync = promisify(execFile);

describe.each(workerTypes)('errors (%s workers)', (workerType) => {
  const run = <T, R>(worker: string, inputs: T[], size = 1): Promise<R[]> =>
    lastValueFrom(from(inputs).pipe(loopPool<T, R>(worker, { size, workerType }), toArray()));

  it('TaskError keeps the remote name, message, stack and code, and names the input and the worker', async () => {
    const error = await failure(run(workerPath('failing.ts'), ['fine', 'throw'], 1));
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toBeInstanceOf(LoopPoolError);
    const taskError = error as TaskError;
    expect(taskError.name).toBe('TaskError');
    expect(taskError.index).toBe(1);
    expect(taskError.workerIndex).toBe(0);
    expect(taskError.input).toBe('throw');
    expect(taskError.message).toBe(`Task 1 (input: 'throw') failed on worker 0: ParseError: bad record`);
    const cause = taskError.cause as Error & { code: string };
    expect(cause.name).toBe('ParseError');
    expect(cause.message).toBe('bad record');
    expect(cause.code).toBe('E_PARSE');
    expect(cause.stack).toContain('failing.ts');
  });

  it('TaskError for a rejected Promise and for a thrown non-Error', async () => {
    const rejected = (await failure(run(workerPath('failing.ts'), ['reject']))) as TaskError;
    expect(rejected).toBeInstanceOf(TaskError);
    expect((rejected.cause as Error).name).toBe('RangeError');
    const thrown = (await failure(run(workerPath('failing.ts'), ['throw-string']))) as TaskError;
    expect(thrown).toBeInstanceOf(TaskError);
    expect((thrown.cause as Error).message).toBe('Non-error value thrown: just a string');
  });

  it('a task error errors the output, drops the other results, and stops the threads', async () => {
    const results: unknown[] = [];
    const error = await failure(
      lastValueFrom(
        from(['throw', ...Array(50).fill('fine')]).pipe(loopPool<string, string>(workerPath('failing.ts'), { size: 2, workerType })),
      ).then((value) => results.push(value)),
    );
    expect(error).toBeInstanceOf(TaskError);
    expect(results).toEqual([]);
    // noLeaks verifies after the test that both threads have ended.
  });

  describe('WorkerLoadError', () => {
    it.each([
      ['a missing module', 'missing.ts', 'no such module'],
      ['a syntax error', 'syntaxError.js', 'the module threw while loading: SyntaxError'],
      ['a module that never calls defineWorker', 'noDefine.ts', 'the module did not call defineWorker() at its top level'],
      ['a module that calls defineWorker twice', 'twoDefines.ts', `the module called defineWorker() 2 times, all in ${workerPath('twoDefines.ts')}; call it once`],
      [
        'a worker module that imports another worker module',
        'importsWorker.ts',
        `the module called defineWorker() 2 times: in ${workerPath('sleep.ts')}, ${workerPath('importsWorker.ts')}. ` +
          `${workerPath('importsWorker.ts')} imports another worker module (${workerPath('sleep.ts')}), whose defineWorker() ran too`,
      ],
      ['an init that throws', 'initThrows.ts', 'init threw: Error: no database'],
      ['an uncaught exception while the module loads', 'uncaughtAtLoad.mjs', 'the module threw while loading: Error: a timer of the module threw'],
      ['an unhandled rejection while the module loads', 'rejectedAtLoad.mjs', 'the module threw while loading: Error: a promise of the module rejected'],
    ])('is raised for %s', async (_, file, reason) => {
      const error = await failure(run(workerPath(file), [1, 2, 3], 2));
      expect(error).toBeInstanceOf(WorkerLoadError);
      const { workerIndex } = error as WorkerLoadError;
      expect(error.message.startsWith(`Worker ${workerIndex} could not load ${workerPath(file)}: ${reason}`)).toBe(true);
      expect((error as WorkerLoadError).worker).toBe(workerPath(file));
    });

    it.each(['missing.ts', 'missing.mjs'])(
      'says, for a missing module (%s), where relative paths resolve from and how to resolve one from the calling file',
      async (file) => {
        const error = await failure(run(workerPath(file), [1], 1));
        expect(error).toBeInstanceOf(WorkerLoadError);
        expect(error.message).toContain(`could not load ${workerPath(file)}: no such module. `);
        expect(error.message).toContain(`A relative worker path resolves from process.cwd() (${process.cwd()}), not from the calling file`);
        expect(error.message).toContain(`new URL('./${file}', import.meta.url) in an ES module`);
        expect(error.message).toContain(`join(__dirname, '${file}') in CommonJS`);
      },
    );

    // Threads only (threads.js's spawn() once waited 10 s for a thread that failed to start).
    (workerType === 'thread' ? it.each : it.skip.each)(['missing.ts', 'syntaxError.js', 'noDefine.ts', 'initThrows.ts'])(
      'comes from the worker itself for %s, at once, and leaves no timer behind',
      async (file) => {
        const { stdout } = await execFileAsync(process.execPath, [join(__dirname, 'support', 'loadFailureChild.js'), workerPath(file)]);
        const report = JSON.parse(stdout) as { name: string; message: string; elapsed: number; leftovers: string[] };
        expect(report.name).toBe('WorkerLoadError');
        expect(report.message).not.toMatch(/timeout|did not receive an init message/i);
        // Well under the 10 s threads.js waited, with room for a loaded machine (it takes ~100-300 ms quiet; 1,008 ms was seen at load 12).
        expect(report.elapsed).toBeLessThan(5_000);
        expect(report.leftovers).toEqual([]);
      },
    );
  });

  describe('SerializationError', () => {
    it('names a task that cannot be cloned, and its index', async () => {
      const error = await failure(run<unknown, unknown>(workerPath('echo.ts'), [1, () => 2, 3]));
      expect(error).toBeInstanceOf(SerializationError);
      expect(error).toMatchObject({ subject: 'task', index: 1, workerIndex: 0 });
      expect(error.message).toMatch(/^Task 1 cannot be sent between threads \(worker 0\): .*could not be cloned/);
    });

    it('names a result that cannot be cloned, and the index of its input', async () => {
      const error = await failure(run(workerPath('failing.ts'), ['fine', 'function-result']));
      expect(error).toBeInstanceOf(SerializationError);
      expect(error).toMatchObject({ subject: 'result', index: 1, workerIndex: 0 });
      expect(error.message).toMatch(/^A result of task 1 cannot be sent between threads/);
    });

    it('reports a value sent with ctx.emit that cannot be cloned to onError, and goes on: it fails nothing', async () => {
      const reported: Error[] = [];
      const results = await lastValueFrom(
        from(['emit-function', 'after']).pipe(
          loopPool<string, string>(workerPath('emitter.ts'), { size: 1, workerType, onError: (error) => reported.push(error) }),
          toArray(),
        ),
      );
      expect(results.filter((result) => result.startsWith('done'))).toEqual(['done emit-function', 'done after']);
      expect(reported).toHaveLength(1);
      expect(reported[0]).toBeInstanceOf(SerializationError);
      expect(reported[0]).toMatchObject({ subject: 'emitted value', index: undefined, workerIndex: 0 });
    });

    it('reports workerData that cannot be cloned', async () => {
      const error = await failure(
        lastValueFrom(of(1).pipe(loopPool(workerPath('echo.ts'), { size: 1, workerType, workerData: { f: () => 0 } }))),
      );
      expect(error).toBeInstanceOf(SerializationError);
      expect(error).toMatchObject({ subject: 'workerData' });
    });
  });

  describe('WorkerCrashError', () => {
    it('reports a worker that calls process.exit during a task, with the exit code and the input index', async () => {
      const error = await failure(run(workerPath('failing.ts'), ['fine', 'exit']));
      expect(error).toBeInstanceOf(WorkerCrashError);
      expect(error).toMatchObject({ exitCode: 3, index: 1, workerIndex: 0 });
      expect(error.message).toBe('Worker 0 exited with code 3 while running task 1');
    });

    it('says, of a worker that was replaced, that it was and which inputs run again', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'looppool-crash-'));
      const reported: Error[] = [];
      try {
        const task: CrashTask = { id: 1, dir, crash: 'once' };
        const results = await lastValueFrom(
          of(task).pipe(
            loopPool<CrashTask, number>(workerPath('crashOnceFile.ts'), { size: 1, workerType, onError: (error) => reported.push(error) }),
            toArray(),
          ),
        );
        expect(results).toEqual([1]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      expect(reported).toHaveLength(1);
      expect(reported[0]).toBeInstanceOf(WorkerCrashError);
      // Before, only "Worker 0 exited with code 7".
      expect(reported[0]!.message).toBe('Worker 0 exited with code 7; it was replaced by a new worker, and input 0 runs again');
    });

    it('reports an uncaught exception in a callback as a crash, with the exception as its cause', async () => {
      const error = await failure(run(workerPath('failing.ts'), ['uncaught']));
      expect(error).toBeInstanceOf(WorkerCrashError);
      expect(error).toMatchObject({ exitCode: 1, index: 0 });
      expect((error.cause as Error).message).toBe('thrown in a timer');
    });
  });

  it('errors from the source pass through untouched', async () => {
    const sourceError = new Error('source failed');
    const source = new Observable<number>((subscriber) => subscriber.error(sourceError));
    await expect(lastValueFrom(source.pipe(loopPool(workerPath('echo.ts'), { size: 1, workerType })))).rejects.toBe(sourceError);
  });
});

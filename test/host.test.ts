/**
 * The worker host over a byte stream (`looppool-worker --stdio`): the messages of a worker
 * process without its IPC channel, as a pool that is not its parent (on another host) will
 * send them. Frames are length-prefixed V8 serializations (src/host/streamChannel.ts).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { streamChannel } from '../dist/host/streamChannel';
import { ProcessOp } from '../dist/transport/processProtocol';
import { Op } from '../dist/transport/protocol';
import { workerPath } from './support/paths';

const host = join(__dirname, '..', 'dist', 'host', 'main.js');

/** Starts a host on stdio; `next()` resolves with its next message. */
function startHost(): { send(message: unknown[]): void; next(): Promise<unknown[]>; end(): void; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [host, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const channel = streamChannel(child.stdout, child.stdin);
  const received: unknown[][] = [];
  const waiting: Array<(message: unknown[]) => void> = [];
  channel.on('message', (message) => (waiting.length > 0 ? waiting.shift()!(message) : received.push(message)));
  return {
    send: (message) => channel.postMessage(message),
    next: () => new Promise((resolve) => (received.length > 0 ? resolve(received.shift()!) : waiting.push(resolve))),
    end: () => void child.stdin.end(),
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
}

describe('the worker host over a byte stream (looppool-worker --stdio)', () => {
  it('loads the module, answers ready, runs tasks with structured values, and exits on stop', async () => {
    const worker = startHost();
    worker.send([ProcessOp.setup, 0, { modulePath: workerPath('echo.ts'), index: 0, concurrency: 1, workerData: undefined, title: 'remote#0' }]);
    expect(await worker.next()).toEqual([ProcessOp.ready, 0, 0]);
    const value = { when: new Date(0), table: new Map([[1, 2n]]), bytes: new Uint8Array([1, 2]) };
    worker.send([Op.run, 1, value]);
    expect(await worker.next()).toEqual([Op.last, 1, value]);
    worker.send([Op.stop, 0, 0]);
    expect(await worker.exited).toBe(0);
  });

  it('says why a module cannot be served, then exits', async () => {
    const worker = startHost();
    worker.send([ProcessOp.setup, 0, { modulePath: workerPath('noDefine.ts'), index: 0, concurrency: 1, workerData: undefined, title: 'remote#0' }]);
    expect(await worker.next()).toEqual([ProcessOp.failed, 0, { reason: 'the module did not call defineWorker() at its top level' }]);
    expect(await worker.exited).toBe(1);
  });

  it('exits when its input ends, as when the pool on the other side goes away', async () => {
    const worker = startHost();
    worker.send([ProcessOp.setup, 0, { modulePath: workerPath('echo.ts'), index: 0, concurrency: 1, workerData: undefined, title: 'remote#0' }]);
    expect(await worker.next()).toEqual([ProcessOp.ready, 0, 0]);
    worker.end();
    expect(await worker.exited).toBe(0);
  });
});

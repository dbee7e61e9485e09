import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Channel } from '../transport/channel';
import { activitySlots } from '../transport/protocol';
import { startRuntime } from '../worker/start';
import { isProcessMessage, ProcessOp, type ProcessSetup } from '../transport/processProtocol';

/**
 * Serves one worker over `channel`, the host side of `transport/processProtocol.ts`: waits for the
 * setup, loads the worker module, runs `init`, answers `ready` (or `failed`), then runs the
 * tasks that arrive with the same runtime as a thread. Nothing here knows what carries the
 * messages (a worker process's IPC channel).
 *
 * @param exit ends the host's process with the given code: after a stop message, on an
 *   uncaught error, or when the worker does not start.
 */
export function serveWorker(channel: Channel, exit: (code: number) => void): void {
  const tasks = new TaskInbox(channel);
  let previousElu: EventLoopUtilization | undefined;
  let started = false;
  channel.on('message', (message) => {
    if (!isProcessMessage(message)) return tasks.deliver(message);
    if (message[0] === ProcessOp.setup && !started) {
      started = true;
      void start(message[2] as ProcessSetup, tasks, exit);
    } else if (message[0] === ProcessOp.sample) {
      const elu = performance.eventLoopUtilization(previousElu);
      previousElu = performance.eventLoopUtilization();
      channel.postMessage([ProcessOp.sample, message[1], elu.utilization]);
    }
  });
}

async function start(setup: ProcessSetup, tasks: TaskInbox, exit: (code: number) => void): Promise<void> {
  process.title = setup.title;
  // No one reads the activity words of a process: they stay in this process's memory.
  const runtime = await startRuntime(tasks, { ...setup, followContinuations: false, activity: new Int32Array(activitySlots) }, exit);
  if ('reason' in runtime) {
    tasks.postMessage([ProcessOp.failed, 0, runtime]);
    return exit(1);
  }
  tasks.postMessage([ProcessOp.ready, 0, 0]);
  runtime.listen();
}

/**
 * The runtime's end of the channel: batches of tasks that arrive before the runtime listens
 * (the pool sends tasks while the worker starts) wait here, in order, and are handed over
 * when it does.
 */
class TaskInbox implements Channel {
  /** Batches received before the runtime listened; emptied when it does. */
  private waiting: unknown[][] = [];
  private listener: ((message: unknown[]) => void) | undefined;

  constructor(private readonly channel: Channel) {}

  /** Sends one message: the runtime's batches and the host's own messages alike. */
  postMessage(message: unknown[]): void {
    this.channel.postMessage(message);
  }

  on(_event: 'message', listener: (message: unknown[]) => void): this {
    this.listener = listener;
    const waiting = this.waiting;
    this.waiting = [];
    for (const message of waiting) listener(message);
    return this;
  }

  deliver(message: unknown[]): void {
    if (this.listener) this.listener(message);
    else this.waiting.push(message);
  }
}

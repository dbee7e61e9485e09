import type { Subscription } from 'rxjs';
import type { WorkerPort } from '../transport/transport';
import type { Job, TaskRun } from './job';
import { Queue } from './queue';
import type { Task } from './types';

/**
 * One worker as the engine tracks it. The slot outlives its port: when a worker crashes, a
 * replacement takes the same slot (and index) with a new port.
 */
export class WorkerSlot<T, R> {
  /** Replacements so far; what a port's events are checked against. */
  generation = 0;
  /** Tasks handed over that hold the worker's running places (the first `concurrency` not finished). */
  readonly front = new Set<TaskRun<T, R>>();
  /**
   * Tasks handed over behind them, waiting at the worker's gate, in order; at most `queueSize`.
   * One that ends while waiting is marked `gone` and skipped (see {@link behind}).
   */
  readonly back = new Queue<TaskRun<T, R>>();
  /** Tasks in `back` that have not ended. */
  behind = 0;
  /** Tasks that only this worker may run (targeted puts, broadcasts), not yet handed over, in order. Unbounded. */
  readonly queue = new Queue<{ readonly job: Job<T, R>; readonly task: Task<T> }>();
  /** Tasks that completed on this worker, since the pool started. */
  done = 0;
  /** Tasks that failed for good on this worker, since the pool started. */
  failed = 0;
  /** True while a broadcast runs on this worker: nothing else is handed over meanwhile. */
  sequentialRunning = false;
  /** Set while the worker has not answered a ping sent after a task timed out: nothing is handed over. */
  probe: Subscription | undefined;
  /** The task whose timeout started the probe: the one blamed if the worker cannot say which blocked it. */
  trigger: TaskRun<T, R> | undefined;
  /** The port that reported a crashed task; while it is the current one, nothing is handed over. */
  private crashedPort: WorkerPort<T, R> | undefined;

  constructor(
    readonly index: number,
    /** The worker's port; replaced when the worker is. */
    public port: WorkerPort<T, R>,
  ) {}

  /** Tasks handed over and not finished. */
  get assigned(): number {
    return this.front.size + this.behind;
  }

  /** Every task handed over and not finished, running places first. */
  *handed(): Iterable<TaskRun<T, R>> {
    yield* this.front;
    for (const run of this.back.toArray()) if (!run.gone) yield run;
  }

  /** True once the current port has reported a crashed task: nothing more is handed to it. */
  get down(): boolean {
    return this.crashedPort === this.port;
  }

  /** The current port reported a crashed task: its worker is gone, a replacement will come. */
  markDown(): void {
    this.crashedPort = this.port;
  }
}

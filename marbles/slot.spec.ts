import { asyncScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { TaskTimeoutError, type LoopPoolError } from '../src/errors';
import { WorkerSlot, type SlotHost } from '../src/engine/slot';
import type { RunOwner, Task } from '../src/engine/types';
import type { PortListener, Probeable, RunObserver, TaskAtExit, WorkerCrash, WorkerPort } from '../src/transport/transport';

/** A port the spec drives by hand: it says what the "worker" started, yielded, ended, and how it died. */
class ScriptedPort implements WorkerPort<string, string>, Probeable {
  readonly ready = Promise.resolve();
  readonly startsAtOnce = true;
  readonly runs = new Map<number, { readonly task: string; readonly observer: RunObserver<string> }>();
  readonly cancelled: string[] = [];
  probes = 0;
  /** Whether a probe is answered at once. */
  answers = true;
  /** The answers of probes not answered at once, to give later. */
  readonly unanswered: Array<() => void> = [];
  killed = false;
  terminated = false;
  private lastTicket = 0;

  constructor(
    readonly index: number,
    private readonly listener: PortListener<string>,
  ) {}

  run(task: string, observer: RunObserver<string>): number {
    this.runs.set(++this.lastTicket, { task, observer });
    return this.lastTicket;
  }
  cancel(ticket: number): void {
    const run = this.runs.get(ticket);
    if (run) this.cancelled.push(run.task);
    this.runs.delete(ticket);
  }
  probe(answered: () => void): void {
    this.probes++;
    if (this.answers) answered();
    else this.unanswered.push(answered);
  }
  kill(): void {
    this.killed = true;
    this.die('unresponsive', {});
  }
  async terminate(): Promise<void> {
    this.terminated = true;
  }

  /** The worker goes out of reach (last heard `silentMs` ago), as a cluster's port says of a host unheard. */
  outOfReach(silentMs: number): void {
    this.listener.outOfReach?.(silentMs);
  }
  backInReach(): void {
    this.listener.backInReach?.();
  }

  /** The observer of the task given as `task`. */
  of(task: string): RunObserver<string> {
    for (const run of this.runs.values()) if (run.task === task) return run.observer;
    throw new Error(`no run of ${task}`);
  }
  /** The worker dies; `facts` says, per task, what it knew (started, blocking, transferred). */
  die(crash: WorkerCrash<string>['crash'], facts: Record<string, Partial<TaskAtExit<string>>>, kind: 'crashed' | 'load' = 'crashed', handedBack = false): void {
    const tasks = [...this.runs.values()].map(({ task, observer }) => ({ observer, started: true, blocking: false, transferred: false, ...facts[task] }));
    this.runs.clear();
    this.listener.exited(kind === 'load' ? { kind, reason: 'init threw', exitCode: 7, tasks } : { kind, crash, exitCode: 7, tasks, handedBack });
  }
}

/** What a job hears of its tasks. */
class RecordingOwner implements RunOwner<string, string> {
  readonly events: string[] = [];
  readonly errors: LoopPoolError[] = [];
  result(task: Task<string>, value: string): void {
    this.events.push(`${task.input}: ${value}`);
  }
  completed(task: Task<string>): void {
    this.events.push(`${task.input} completed`);
  }
  failed(task: Task<string>, error: LoopPoolError): void {
    this.events.push(`${task.input} failed: ${error.name}`);
    this.errors.push(error);
  }
  retry(task: Task<string>): void {
    this.events.push(`${task.input} again (attempts ${task.attempts})`);
  }
}

function setUp(options: Partial<SlotHost<string, string>['options']> = {}, restarts = 10, elastic = false) {
  const ports: ScriptedPort[] = [];
  const log: string[] = [];
  let budget = restarts;
  const host: SlotHost<string, string> = {
    options: { concurrency: 2, queueSize: 2, retries: 1, maxRestarts: restarts, taskTimeout: undefined, gracePeriod: 5, ...options },
    transport: (index, listener) => {
      const port = new ScriptedPort(index, listener);
      ports.push(port);
      return port;
    },
    workerModule: 'scripted.js',
    workerName: (index) => `spec#${index}`,
    emitted: () => {},
    report: (error) => log.push(`reported ${error.name}`),
    warn: (error) => log.push(`warned ${error.name}`),
    mayRestart: () => budget-- > 0,
    replaced: (index) => log.push(`replaced ${index}`),
    elastic,
    vacated: (index) => log.push(`vacated ${index}`),
    fatal: (error) => log.push(`fatal ${error.name}: ${error.message}`),
    pump: () => {},
  };
  const slot = new WorkerSlot(0, host);
  const owner = new RecordingOwner();
  let index = 0;
  const hand = (input: string): void => void slot.handOver(owner, { index: index++, input, attempts: 0 });
  return { slot, owner, ports, log, hand, port: () => ports[ports.length - 1]! };
}

describe('WorkerSlot: what happens to the tasks of a worker that dies', () => {
  it('charges the task the worker names as holding its loop, and sends the others again for free', () => {
    const { owner, hand, ports, log } = setUp();
    hand('culprit');
    hand('neighbour');
    hand('waiting');
    ports[0]!.die('out of memory', { culprit: { blocking: true }, waiting: { started: false } });
    expect(owner.events).toEqual(['waiting again (attempts 0)', 'neighbour again (attempts 0)', 'culprit again (attempts 1)']);
    expect(ports).toHaveLength(2); // replaced
    expect(log).toEqual(['reported WorkerCrashError', 'replaced 0']);
  });

  it('ends the culprit with WorkerCrashError once its retries are spent, and counts it', () => {
    const { slot, owner, hand, ports } = setUp({ retries: 0 });
    hand('culprit');
    ports[0]!.die('exited', { culprit: { blocking: true } });
    expect(owner.events).toEqual(['culprit failed: WorkerCrashError']);
    expect(owner.errors[0]).toMatchObject({ index: 0, workerIndex: 0, exitCode: 7, workerName: 'spec#0' });
    expect(slot.counts).toMatchObject({ failed: 1, restarts: 1 });
  });

  it('does not run again a task that had yielded results, and says why', () => {
    const { owner, hand, ports } = setUp();
    hand('stream');
    ports[0]!.of('stream').next('0.0');
    ports[0]!.die('exited', { stream: { blocking: true } });
    expect(owner.events).toEqual(['stream: 0.0', 'stream failed: WorkerCrashError']);
    expect(owner.errors[0]!.message).toMatch(/after the task had yielded results; it is not run again/);
  });

  it('does not run again a task whose input was transferred, even one that never started', () => {
    const { owner, hand, ports } = setUp();
    hand('moved');
    ports[0]!.die('exited', { moved: { started: false, transferred: true } });
    expect(owner.events).toEqual(['moved failed: WorkerCrashError']);
    expect(owner.errors[0]!.message).toMatch(/`transfer` option/);
  });

  it('fails the pool when a first worker cannot load, and sends nothing again', () => {
    const { owner, hand, ports, log } = setUp();
    hand('a');
    ports[0]!.die('exited', { a: { started: false } }, 'load');
    expect(owner.events).toEqual([]);
    expect(log).toEqual([expect.stringMatching(/^fatal WorkerLoadError: Worker 0 could not load scripted.js: init threw/)]);
    expect(ports).toHaveLength(1);
  });

  it('fails the pool with the restart limit in the message when the budget is spent', () => {
    const { owner, hand, ports, log } = setUp({}, 0);
    hand('a');
    ports[0]!.die('exited', { a: { blocking: true } });
    expect(owner.events).toEqual(['a again (attempts 1)']);
    expect(log[1]).toMatch(/^fatal WorkerCrashError: Workers crashed more than 0 times within a minute \(maxRestarts\); worker 0 was not restarted/);
    expect(ports).toHaveLength(1);
  });

  it('an elastic pool does not replace a worker its host gave back (SIGTERM): nothing is reported, its unstarted task goes again free', () => {
    const { slot, owner, hand, ports, log } = setUp({}, 0, true);
    hand('a');
    ports[0]!.die('host lost', { a: { started: false } }, 'crashed', true);
    expect(owner.events).toEqual(['a again (attempts 0)']);
    expect(log).toEqual(['vacated 0']); // no crash reported, no restart taken (the budget is 0)
    expect(ports).toHaveLength(1);
    expect(slot.live).toBe(false);
  });

  it('a fixed pool replaces a worker its host gave back, as after a crash', () => {
    const { hand, ports, log } = setUp();
    hand('a');
    ports[0]!.die('host lost', { a: { started: false } }, 'crashed', true);
    expect(log).toEqual(['reported WorkerCrashError', 'replaced 0']);
    expect(ports).toHaveLength(2);
  });

  it('starts no replacement when what it told the owners stopped the slot', () => {
    const { slot, ports } = setUp({ retries: 0 });
    const owner = new RecordingOwner();
    owner.failed = () => void slot.stop(); // the job's end tears the pool down
    slot.handOver(owner, { index: 0, input: 'last', attempts: 0 });
    ports[0]!.die('exited', { last: { blocking: true } });
    expect(ports).toHaveLength(1);
  });
});

describe('WorkerSlot: timeouts in virtual time', () => {
  const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  it('starts a task’s clock when the worker says it started, not when it was handed over', () => {
    scheduler().run(({ cold, flush }) => {
      const { owner, hand, port } = setUp({ concurrency: 1, taskTimeout: 10 });
      hand('slow');
      hand('behind');
      port().of('slow').started();
      // 'behind' waits at the worker for 8 frames, then runs 8: within its limit of 10.
      cold('--------a-------b').subscribe((frame) => {
        if (frame === 'a') {
          port().of('slow').complete();
          port().of('behind').started();
        } else port().of('behind').complete();
      });
      flush();
      expect(owner.events).toEqual(['slow completed', 'behind completed']);
    });
  });

  it('times out a task past its deadline on a worker that answers, and cancels it', () => {
    scheduler().run(({ flush }) => {
      const { owner, hand, port, slot } = setUp({ taskTimeout: 10 });
      hand('hang');
      port().of('hang').started();
      flush();
      expect(owner.events).toEqual(['hang failed: TaskTimeoutError']);
      expect(owner.errors[0]).toBeInstanceOf(TaskTimeoutError);
      expect(port().cancelled).toEqual(['hang']);
      expect(slot.counts).toMatchObject({ restarts: 0, failed: 1 });
    });
  });

  it('gives the task that moves up into the freed place one clock, from its own start (defect 8)', () => {
    scheduler().run(({ cold, flush }) => {
      const { owner, hand, port } = setUp({ concurrency: 1, taskTimeout: 10 });
      hand('hang');
      hand('next');
      port().of('hang').started();
      // 'hang' times out at frame 10; 'next' starts then and ends at frame 19, 9 frames later.
      cold('----------a--------b').subscribe((frame) => {
        if (frame === 'a') port().of('next').started();
        else port().of('next').complete();
      });
      flush();
      expect(owner.events).toEqual(['hang failed: TaskTimeoutError', 'next completed']);
      expect(port().probes).toBe(1); // no stale clock probed again
    });
  });

  it('kills a worker that does not answer within gracePeriod: the task named as blocking timed out, the trigger goes again', () => {
    scheduler().run(({ flush }) => {
      const { owner, hand, port, ports } = setUp({ taskTimeout: 10, gracePeriod: 5 });
      hand('healthy');
      hand('spinner');
      const first = port();
      first.answers = false;
      first.of('healthy').started();
      first.of('spinner').started();
      first.kill = () => {
        first.killed = true;
        first.die('unresponsive', { spinner: { blocking: true } });
      };
      flush();
      expect(first.killed).toBe(true);
      expect(owner.events).toEqual(['spinner failed: TaskTimeoutError', 'healthy again (attempts 0)']);
      expect(ports).toHaveLength(2);
    });
  });

  it('a port that cannot be probed is killed at a timeout; the trigger is blamed', () => {
    scheduler().run(({ flush }) => {
      const { owner, hand, port } = setUp({ taskTimeout: 10 });
      const first = port();
      (first as Partial<Probeable>).probe = undefined;
      hand('hang');
      first.of('hang').started();
      flush();
      expect(first.killed).toBe(true);
      expect(owner.events).toEqual(['hang failed: TaskTimeoutError']);
    });
  });
});

describe('WorkerSlot: an outage is not a timeout (a worker out of reach)', () => {
  const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  /** Runs `fn` at virtual time `frame`. */
  const at = (frame: number, fn: () => void): void => void asyncScheduler.schedule(fn, frame);

  it('stops the clocks while the worker is out of reach; back in reach, the task has the time it had left', () => {
    scheduler().run(({ flush }) => {
      const { owner, hand, port } = setUp({ taskTimeout: 10 });
      hand('done in time');
      hand('too slow');
      port().of('done in time').started();
      port().of('too slow').started();
      at(3, () => port().outOfReach(0)); // 7 frames left each
      at(50, () => port().backInReach());
      at(56, () => port().of('done in time').complete()); // 6 frames after: in time
      flush(); // 'too slow' times out at 57
      expect(owner.events).toEqual(['done in time completed', 'too slow failed: TaskTimeoutError']);
      expect(port().probes).toBe(1);
    });
  });

  it('counts the outage from the worker’s last word: a probe sent since is dropped and its late answer ignored', () => {
    scheduler().run(({ flush }) => {
      const { owner, hand, port } = setUp({ taskTimeout: 10, gracePeriod: 5 });
      hand('healthy');
      port().answers = false;
      port().of('healthy').started();
      // The deadline passes at 10 and a probe goes out; at 12 the port says the worker was last heard at 4.
      at(12, () => port().outOfReach(8));
      at(40, () => port().backInReach()); // 6 frames left: the deadline is now 46
      at(41, () => port().unanswered[0]!()); // the dropped probe's answer: no timeout
      at(45, () => port().of('healthy').complete());
      flush();
      expect(port().probes).toBe(1);
      expect(port().killed).toBe(false);
      expect(owner.events).toEqual(['healthy completed']);
    });
  });

  it('a probe sent before the worker went out of reach waits, and gets a whole gracePeriod once it is back', () => {
    scheduler().run(({ flush }) => {
      const { owner, hand, port } = setUp({ taskTimeout: 10, gracePeriod: 5 });
      hand('spinner');
      const first = port();
      first.answers = false;
      first.of('spinner').started();
      let killedAt: number | undefined;
      first.kill = () => {
        killedAt = asyncScheduler.now();
        first.die('unresponsive', { spinner: { blocking: true } });
      };
      at(12, () => first.outOfReach(0)); // probed at 10; its grace would end at 15
      at(40, () => first.backInReach());
      flush();
      expect(killedAt).toBe(45);
      expect(owner.events).toEqual(['spinner failed: TaskTimeoutError']);
    });
  });

  it('a worker that never comes back ends with its host: its started task is charged as a crash, never a timeout', () => {
    scheduler().run(({ flush }) => {
      const { owner, hand, port, ports } = setUp({ taskTimeout: 10, retries: 0 });
      hand('running');
      hand('waiting');
      port().of('running').started();
      at(3, () => ports[0]!.outOfReach(0));
      at(30, () => ports[0]!.die('host lost', { waiting: { started: false } }));
      flush();
      expect(ports[0]!.probes).toBe(0);
      expect(owner.events).toEqual(['running failed: WorkerCrashError', 'waiting again (attempts 0)']);
      expect(owner.errors[0]).not.toBeInstanceOf(TaskTimeoutError);
    });
  });
});

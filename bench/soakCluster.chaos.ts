import { hostname } from 'node:os';
import { startHost, type Host } from '../test/support/nats';
import { startNatsCluster, type NatsCluster } from '../test/support/natsServer';
import { random } from '../test/support/random';
import { startTcpProxy, type TcpProxy } from '../test/support/tcpProxy';

/**
 * The rig and the fault loop of `npm run soak:cluster` (bench/soakCluster.ts): a cluster of
 * three nats-servers joined by routes on free loopback ports, `looppool-worker` hosts started
 * through the built bin that reach each server through a TCP proxy of their own
 * (test/support/tcpProxy.ts), and a loop that injects one fault at a time, drawn from a seeded
 * generator. Each fault is recorded with when it began and ended, which of the pool's workers
 * the host it hit served, and whether it excuses their crashes and their tasks' failures.
 */

/** The faults the loop draws from, each with its relative weight. */
export const faultWeights = {
  /** A host SIGKILLed; a new host on the same proxies 0.5 to 3 s later. */
  'host-kill': 4,
  /** A host SIGTERMed (a graceful stop: it ends what runs, gives back the rest); a new host 0.2 to 1 s after it exited. */
  'host-term': 2,
  /** A server SIGKILLed and started again on its port 0.2 to 3 s later. */
  'server-kill': 3,
  /** A server SIGTERMed (a graceful stop) and started again on its port 0.2 to 3 s later. */
  'server-term': 2,
  /** Every connection of a host reset, and new ones refused, for 0.1 to 1 s. */
  'link-cut': 3,
  /** A host's packets held both ways, its sockets open, for 0.2 s to `ackWait` - 0.8 s. */
  'link-blackhole': 3,
  /** A cut for `ackWait` + 0.5 to 2.5 s: the pool counts the host lost. */
  'link-cut-long': 1,
  /** A blackhole for `ackWait` + 0.5 to 2.5 s: the pool counts the host lost. */
  'link-blackhole-long': 1,
} as const;
export type FaultKind = keyof typeof faultWeights;
export const faultKinds = Object.keys(faultWeights) as FaultKind[];

/**
 * A link down for this much less than `ackWait` or more may lose its host: a host heartbeats
 * every 500 ms, so its silence can begin up to 500 ms before its link goes down, and a loaded
 * machine delays the first word after the link is back by up to about 250 ms more.
 */
export const lossMargin = 750;

export interface RigSettings {
  /** The worker module the hosts serve. */
  readonly worker: string;
  /** The pool's name (`--pool`). */
  readonly pool: string;
  readonly hosts: number;
  /** `--threads` of each host. */
  readonly threads: number;
  readonly ackWait: number;
}

/** One host's place: its proxies (one per server, the same for every host started there) and the host running now. */
interface Slot {
  readonly index: number;
  readonly proxies: readonly TcpProxy[];
  host: Host | undefined;
  /** `hostname:pid` of the host running now: what the pool's `stats()` and its errors call it. */
  label: string;
}

/** The servers, the proxies and the hosts; {@link Rig.stop} ends every one. */
export class Rig {
  /** Every host started, for the tally of what they printed. */
  readonly started: Host[] = [];
  /** Hosts that exited without this soak ending them, or did not come back: one line each. */
  readonly died: string[] = [];
  /** Hosts this soak ended on purpose. */
  private readonly intended = new WeakSet<Host>();
  private stopped: Promise<void> | undefined;

  private constructor(
    readonly cluster: NatsCluster,
    readonly slots: Slot[],
    private readonly settings: RigSettings,
  ) {}

  /** Starts the cluster (its servers tell clients of no other server: see `noAdvertise`), the proxies and the hosts. */
  static async start(settings: RigSettings): Promise<Rig> {
    const rig = new Rig(await startNatsCluster(3, { noAdvertise: true }), [], settings);
    try {
      await rig.cluster.joined(20_000);
      for (let index = 0; index < settings.hosts; index++) {
        const proxies = await Promise.all(rig.cluster.servers.map((server) => startTcpProxy(server.port)));
        rig.slots.push({ index, proxies, host: undefined, label: '' });
      }
      await Promise.all(rig.slots.map((slot) => rig.startHost(slot)));
    } catch (error) {
      await rig.stop();
      throw error;
    }
    return rig;
  }

  /** Set once {@link stop} was called: nothing is started after it. */
  get stopping(): boolean {
    return this.stopped !== undefined;
  }

  /** Starts a host in `slot`, given the URLs of the slot's proxies, and waits until it serves (unless the rig is stopping). */
  async startHost(slot: Slot): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) return;
      const urls = slot.proxies.map((proxy) => proxy.url).join(',');
      const host = startHost(this.settings.worker, urls, this.settings.pool, ['--threads', String(this.settings.threads)]);
      this.started.push(host);
      slot.host = host;
      slot.label = `${hostname()}:${host.child.pid}`;
      void host.exited.then((code) => {
        if (!this.intended.has(host)) this.died.push(`host ${slot.index} (pid ${host.child.pid}) exited with ${code}: ${tail(host.output())}`);
      });
      try {
        await host.printed(/serving pool/, 30_000);
        return;
      } catch (error) {
        if (this.stopped) return;
        if (attempt === 3) throw error;
        await this.endHost(slot, 'SIGKILL');
        await sleep(1_000);
      }
    }
  }

  /**
   * Ends the host of `slot` with `signal`; after SIGTERM, SIGKILLs it if it has not exited
   * within `patience` ms. @returns whether it exited by itself.
   */
  async endHost(slot: Slot, signal: 'SIGKILL' | 'SIGTERM', patience = 30_000): Promise<boolean> {
    const host = slot.host;
    if (!host) return true;
    this.intended.add(host);
    slot.host = undefined;
    host.child.kill(signal);
    const exited = await Promise.race([host.exited.then(() => true), sleep(patience).then(() => false)]);
    if (!exited) await host.kill();
    return exited;
  }

  /** Connections through the proxies of `slot` now. */
  connections(slot: Slot): number {
    return slot.proxies.reduce((sum, proxy) => sum + proxy.connections, 0);
  }

  /** SIGKILLs every host, closes the proxies, stops the servers and removes their folders. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      for (const host of this.started) this.intended.add(host);
      await Promise.all(this.started.map((host) => host.kill()));
      await Promise.all(this.slots.flatMap((slot) => slot.proxies.map((proxy) => proxy.close())));
      await this.cluster.stop();
    })();
    return this.stopped;
  }
}

/** One fault injected, as the verdicts need it. */
export interface Fault {
  readonly kind: FaultKind;
  /** What it hit: `host 2 (pid 4711)`, `server 1 (port 40123)`. */
  readonly target: string;
  /** The `hostname:pid` of the host it hit, or of the host behind the link it hit. */
  readonly label: string | undefined;
  /** When it began (`performance.now()`). */
  readonly start: number;
  /** When it was over: a new host serving, the server back and routed, the link healed (Infinity until then). */
  end: number;
  /** For a link: ms from the fault to the host's first connection through its proxies again. */
  outage: number | undefined;
  /** Its host's workers may end (crash reports of them are not misblamed): killed, stopped, or cut off for about `ackWait`. */
  excusesCrashes: boolean;
  /** Its host's tasks may fail: killed, or cut off for about `ackWait`; not a graceful stop, nor a server's fault. */
  excusesFailures: boolean;
  /** The pool's workers (indices) the host served from the fault's start until `ackWait` after its end. */
  readonly workers: Set<number>;
  /** What happened, for the log. */
  detail: string;
}

/** What the verdicts ask of the faults: an error of worker `workerIndex`, naming host `label` if it does, at `at`. */
export interface Blame {
  readonly at: number;
  readonly workerIndex: number | undefined;
  readonly label: string | undefined;
  /** A task's failure (else a worker's end). */
  readonly failure: boolean;
}

export interface ChaosSettings {
  readonly seed: number;
  readonly kinds: readonly FaultKind[];
  readonly ackWait: number;
  /** How long after a fault ended its host's workers may still end, and their tasks fail, because of it (ms). */
  readonly aftermath: number;
}

/** The fault loop: one fault at a time, 0.5 to 2.5 s apart, until {@link Chaos.stop}. */
export class Chaos {
  readonly faults: Fault[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  /** What ended the loop early (a host that would not start, routes that did not join), thrown by {@link stop}. */
  private failure: unknown;
  private readonly sampler: NodeJS.Timeout;

  /**
   * @param workers the pool's workers now, with the `hostname:pid` of the host serving each (`pool.stats().workers`).
   * @param log told of each fault once it is over.
   */
  constructor(
    private readonly rig: Rig,
    private readonly settings: ChaosSettings,
    private readonly workers: () => ReadonlyArray<{ readonly index: number; readonly host: string | undefined }>,
    private readonly log: (fault: Fault) => void,
  ) {
    this.sampler = setInterval(() => this.sample(), 200);
    this.loop = this.run().catch((error: unknown) => {
      this.failure = error;
      console.error('the fault loop failed, and injects no more faults:', error);
    });
  }

  /** Injects no more faults; the one under way goes on (see {@link stop}). */
  halt(): void {
    this.running = false;
  }

  /** Ends the loop once the fault under way is over (its host back, its server up, its link healed). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    clearInterval(this.sampler);
    if (this.failure !== undefined) throw this.failure;
  }

  /** The fault that excuses `blame`, if one does. */
  excuse(blame: Blame): Fault | undefined {
    return this.faults.find(
      (fault) =>
        (blame.failure ? fault.excusesFailures : fault.excusesCrashes) &&
        blame.at >= fault.start &&
        blame.at <= fault.end + this.settings.aftermath &&
        (blame.label !== undefined ? blame.label === fault.label : blame.workerIndex !== undefined && fault.workers.has(blame.workerIndex)),
    );
  }

  /** Each fault draws four numbers, whatever it turns out to be, so that a seed gives the same faults in the same order. */
  private async run(): Promise<void> {
    const next = random(this.settings.seed);
    const total = this.settings.kinds.reduce((sum, kind) => sum + faultWeights[kind], 0);
    while (this.running) {
      const [gap, kindDraw, target, duration] = [next(), next(), next(), next()];
      await sleep(500 + 2_000 * gap);
      if (!this.running) return;
      let x = kindDraw * total;
      const kind = this.settings.kinds.find((candidate) => (x -= faultWeights[candidate]) < 0) ?? this.settings.kinds.at(-1)!;
      const fault = kind.startsWith('server') ? await this.server(kind, target, duration) : await this.host(kind, target, duration);
      this.log(fault);
    }
  }

  /** Records a fault beginning now, with the workers its host serves now. */
  private begin(kind: FaultKind, target: string, label: string | undefined): Fault {
    const fault: Fault = {
      kind,
      target,
      label,
      start: performance.now(),
      end: Infinity,
      outage: undefined,
      excusesCrashes: false,
      excusesFailures: false,
      workers: new Set(),
      detail: '',
    };
    this.faults.push(fault);
    this.sample();
    return fault;
  }

  /** Adds to each recent fault the workers its host serves now. */
  private sample(): void {
    const now = performance.now();
    const open = this.faults.filter((fault) => fault.label !== undefined && now <= fault.end + this.settings.ackWait);
    if (open.length === 0) return;
    for (const worker of this.workers()) {
      for (const fault of open) if (worker.host === fault.label) fault.workers.add(worker.index);
    }
  }

  private async server(kind: FaultKind, target: number, duration: number): Promise<Fault> {
    const index = Math.floor(target * this.rig.cluster.servers.length);
    const server = this.rig.cluster.servers[index]!;
    const signal = kind === 'server-kill' ? 'SIGKILL' : 'SIGTERM';
    // The hosts connected to it now, through their proxy to it: how long each takes to connect again (to another server, or to it when back).
    const onIt = this.rig.slots.filter((slot) => slot.proxies[index]!.connections > 0);
    const fault = this.begin(kind, `server ${index} (port ${server.port})`, undefined);
    const reconnected = onIt.map(async (slot) => {
      await waitFor(() => slot.proxies[index]!.connections === 0, 5_000);
      const back = await waitFor(() => this.rig.connections(slot) > 0, 30_000);
      return `host ${slot.index} ${back ? `${Math.round(performance.now() - fault.start)} ms` : 'not within 30 s'}`;
    });
    await server.down(signal);
    const down = Math.round(200 + 2_800 * duration);
    await sleep(down);
    if (this.rig.stopping) return fault;
    await server.up();
    const up = performance.now();
    await this.rig.cluster.joined(20_000);
    fault.end = performance.now();
    const hosts = await Promise.all(reconnected);
    fault.detail =
      `${signal}; back on its port ${down} ms later, routed to the others ${Math.round(fault.end - up)} ms after that` +
      (hosts.length > 0 ? `; the hosts on it connected again after: ${hosts.join(', ')}` : '; no host was on it');
    return fault;
  }

  private async host(kind: FaultKind, target: number, duration: number): Promise<Fault> {
    const slot = this.rig.slots[Math.floor(target * this.rig.slots.length)]!;
    const pid = slot.host?.child.pid;
    if (kind === 'host-kill' || kind === 'host-term') {
      const fault = this.begin(kind, `host ${slot.index} (pid ${pid})`, slot.label);
      fault.excusesCrashes = true;
      fault.excusesFailures = kind === 'host-kill';
      const gracefully = await this.rig.endHost(slot, kind === 'host-kill' ? 'SIGKILL' : 'SIGTERM');
      const exitedIn = Math.round(performance.now() - fault.start);
      if (!gracefully) fault.excusesFailures = true; // it did not stop within 30 s and was SIGKILLed
      const down = Math.round(kind === 'host-kill' ? 500 + 2_500 * duration : 200 + 800 * duration);
      await sleep(down);
      await this.rig.startHost(slot);
      fault.end = performance.now();
      fault.detail =
        kind === 'host-kill'
          ? `SIGKILL; a new host (pid ${slot.host?.child.pid}) ${down} ms later`
          : `SIGTERM; ${gracefully ? `exited ${exitedIn} ms later` : 'still running after 30 s: SIGKILLed'}; a new host (pid ${slot.host?.child.pid}) ${down} ms after that`;
      return fault;
    }
    const cut = kind.startsWith('link-cut');
    const long = kind.endsWith('-long');
    // A link that carries nothing could not be hit: wait for the host's connection (it may still be dialling after the last fault).
    if (!(await waitFor(() => this.rig.connections(slot) > 0, 10_000))) {
      const fault = this.begin(kind, `host ${slot.index} (pid ${pid})`, slot.label);
      fault.end = performance.now();
      fault.excusesCrashes = fault.excusesFailures = true;
      fault.detail = 'not injected: the host had no connection through its proxies for 10 s';
      this.rig.died.push(`host ${slot.index} (pid ${pid}) had no connection through its proxies for 10 s`);
      return fault;
    }
    const ms = Math.round(long ? this.settings.ackWait + 500 + 2_000 * duration : cut ? 100 + 900 * duration : 200 + (this.settings.ackWait - 1_000) * duration);
    const fault = this.begin(kind, `host ${slot.index} (pid ${pid})`, slot.label);
    for (const proxy of slot.proxies) {
      if (cut) proxy.cut();
      else proxy.blackhole();
    }
    await sleep(ms);
    for (const proxy of slot.proxies) proxy.heal();
    const back = await waitFor(() => this.rig.connections(slot) > 0, 30_000);
    fault.end = performance.now();
    fault.outage = back ? Math.round(fault.end - fault.start) : undefined;
    if (!back) this.rig.died.push(`host ${slot.index} (pid ${pid}) did not connect again within 30 s of its link healing`);
    const mayLose = fault.outage === undefined || fault.outage >= this.settings.ackWait - lossMargin;
    fault.excusesCrashes = fault.excusesFailures = mayLose;
    fault.detail =
      `${cut ? 'cut' : 'blackholed'} for ${ms} ms; ` +
      (back ? `connected again ${fault.outage} ms after the fault began` : 'not connected again within 30 s') +
      (mayLose ? ` (ackWait - ${lossMargin} ms or more: the pool may count it lost)` : ` (less than ackWait - ${lossMargin} ms: the pool must not lose it)`);
    return fault;
  }
}

/** Whether `condition` held within `ms` (polled every 10 ms). */
async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last lines a host printed, on one line. */
function tail(output: string): string {
  return output.trim().split('\n').slice(-3).join(' | ');
}

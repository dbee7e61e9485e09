import type { ClusterError } from '../errors';
import type { Unsendable, WorkerSetupRecord } from './wire';

/**
 * What a worker's port and its pool's hub say to each other, the types both import (so that
 * neither imports the other). The hub alone knows which host serves which worker and each
 * host's free threads; a port names its worker by `wid` and asks the hub.
 */

/** What a worker's port asks of its pool's hub. */
export interface HubLink {
  /** How long (ms) a host may stay silent. */
  readonly ackWait: number;
  /** What every host needs to start a worker of this pool. */
  readonly setup: WorkerSetupRecord;
  /** Sends `[op, wid, a, b]` to the host that serves worker `wid` (batched per turn). @returns false, sending nothing, while no host does. */
  send(wid: number, op: number, a?: unknown, b?: unknown): boolean;
  /** The host of worker `wid` refused it (its threads are taken): it waits for another. */
  refused(wid: number): void;
  /**
   * Worker `wid` no longer needs a host (it ended, or was stopped; with `stop`, its host is told).
   * @returns resolves once the connection has closed, when this was the pool's last worker.
   */
  detach(wid: number, stop: boolean): Promise<void>;
  /** `hostname:pid` of the host that serves worker `wid`, while one does. */
  labelOf(wid: number): string | undefined;
}

/** What the hub tells a worker's port. */
export interface HubPort {
  readonly wid: number;
  /** The worker runs on its host (the host said it is ready). */
  readonly isServed: boolean;
  /** The hub gave the worker a host: send it the setup, then what waits. */
  assigned(): void;
  /** One record, `[op, wid, a, b]`, from the host that serves it. */
  receive(op: number, a: unknown, b: unknown): void;
  /**
   * Its host is out of reach: the pool's connection dropped, or the host's words have not all
   * come in for a while (`silentMs`: since the last that did). The worker's clocks stop.
   */
  outOfReach(silentMs: number): void;
  /** Its host is in reach again: its words come in again, in order, with none missing before them. */
  backInReach(): void;
  /** Its host was not heard from within `ackWait`, left, or lost messages it could not send again (`error` says which): the worker ended with it. */
  lost(error: ClusterError): void;
  /** The pool could not reach the cluster at all. */
  unreachable(error: Error): void;
  /** Task `ticket` could not be encoded for the host, or is too large: it fails, the worker goes on. */
  unsendableTask(ticket: number, why: Unsendable): void;
  /** The worker's setup (its `workerData`) could not be encoded, or is too large: it fails to load. */
  unsendableSetup(why: Unsendable): void;
}

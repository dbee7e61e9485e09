/** One request sent to a worker and not answered. */
interface Pending {
  /** What was asked (the port's op), to send it again where a port must (a worker given to another host). */
  readonly op: number;
  readonly answered: (payload: unknown) => void;
  readonly unanswered: () => void;
  readonly timer: NodeJS.Timeout | undefined;
}

/**
 * The requests a port has sent its worker and not had answered (a probe of its loop, a sample
 * of its figures), the one table of them every port keeps. Each ends once: with its answer,
 * when its time is up, or when the port ends ({@link close}), so that nothing waits for a
 * worker that is gone.
 */
export class Requests {
  /** By id; one probe and one sample at a time per worker in practice (the engine asks again only once answered). */
  private readonly pending = new Map<number, Pending>();
  /** The last id given; ids start at 1. */
  private last = 0;
  private closed = false;

  /**
   * Opens request `op`: `send(id)` sends it. `answered` gets the worker's answer; `unanswered`
   * is called instead if `timeout` ms pass first (when given) or the port ends.
   */
  open(op: number, send: (id: number) => void, answered: (payload: unknown) => void, unanswered: () => void, timeout?: number): void {
    if (this.closed) return unanswered();
    const id = ++this.last;
    const timer = timeout === undefined ? undefined : setTimeout(() => this.take(id)?.unanswered(), timeout);
    timer?.unref();
    this.pending.set(id, { op, answered, unanswered, timer });
    send(id);
  }

  /** Asks `op` and resolves with the answer, or with undefined after `timeout` ms or when the port ends. */
  ask(op: number, send: (id: number) => void, timeout: number): Promise<unknown> {
    return new Promise((resolve) => this.open(op, send, resolve, () => resolve(undefined), timeout));
  }

  /** The worker answered request `id`. */
  answer(id: number, payload: unknown): void {
    this.take(id)?.answered(payload);
  }

  /** Each pending request's id and op, to send them again. */
  *each(): IterableIterator<readonly [id: number, op: number]> {
    for (const [id, request] of this.pending) yield [id, request.op];
  }

  /** The port ended: every pending request, and every later one, ends unanswered. */
  close(): void {
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.take(id)?.unanswered();
  }

  /** Request `id`, no longer pending. */
  private take(id: number): Pending | undefined {
    const request = this.pending.get(id);
    this.pending.delete(id);
    clearTimeout(request?.timer);
    return request;
  }
}

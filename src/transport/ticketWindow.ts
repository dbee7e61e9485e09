/** Below this many slots, a window with holes is kept as it is (see {@link TicketWindow}). */
const spillAfter = 4_096;

/**
 * A Map from tickets to values for tickets set in increasing order that mostly leave in it:
 * the tasks a port has handed to its worker ({@link Ledger}), those a host has handed to its
 * thread. Kept in an array by ticket: a Map that takes and drops an entry per tiny task is
 * rehashed over and over (on tiny tasks through a host, its rehashed tables were a quarter of
 * what the host allocated). A deleted ticket leaves a hole until those before it leave too; a
 * ticket that stays while many after it leave would keep all their holes, so once holes are
 * three quarters of a window past {@link spillAfter} slots, the entries left move to a Map of
 * their own. Iterates in ticket order (when tickets are set in increasing order, as a Map would
 * in insertion order).
 */
export class TicketWindow<V> {
  /** Values from ticket {@link first} on, at `head + ticket - first`; undefined where none. */
  private slots: Array<V | undefined> = [];
  private head = 0;
  /** The ticket at `slots[head]`. */
  private first = 1;
  /** Entries in {@link slots}. */
  private live = 0;
  /** Entries from before {@link first}, moved out of a window of holes; in ticket order. */
  private readonly spilled = new Map<number, V>();
  /** The highest ticket set so far; 0 before the first. */
  private last = 0;

  get size(): number {
    return this.live + this.spilled.size;
  }

  /** Sets `ticket` to `value` (not undefined); quick for a ticket above every ticket set before. */
  set(ticket: number, value: V): void {
    if (ticket <= this.last) return this.setBack(ticket, value);
    const span = this.slots.length - this.head;
    if (this.live === 0 || ticket - this.last > spillAfter || (span >= spillAfter && this.live * 4 < span)) {
      // The window starts again at `ticket`: it has no entry (no hole before its first entry
      // then, which would keep it from moving on), or its entries are spilled.
      this.spill();
      this.first = ticket;
    }
    while (this.first + this.slots.length - this.head < ticket) this.slots.push(undefined);
    this.slots.push(value);
    this.live++;
    this.last = ticket;
  }

  get(ticket: number): V | undefined {
    if (ticket < this.first) return this.spilled.get(ticket);
    const at = this.head + ticket - this.first;
    return at < this.slots.length ? this.slots[at] : undefined;
  }

  has(ticket: number): boolean {
    return this.get(ticket) !== undefined;
  }

  /** @returns whether `ticket` was there. */
  delete(ticket: number): boolean {
    if (ticket < this.first) return this.spilled.delete(ticket);
    const at = this.head + ticket - this.first;
    if (at >= this.slots.length || this.slots[at] === undefined) return false;
    this.slots[at] = undefined;
    this.live--;
    if (at === this.head) this.advance();
    return true;
  }

  clear(): void {
    this.spilled.clear();
    this.slots = [];
    this.head = 0;
    this.first = this.last + 1;
    this.live = 0;
  }

  *entries(): IterableIterator<[number, V]> {
    yield* this.spilled;
    for (let at = this.head; at < this.slots.length; at++) {
      const value = this.slots[at];
      if (value !== undefined) yield [this.first + at - this.head, value];
    }
  }

  [Symbol.iterator](): IterableIterator<[number, V]> {
    return this.entries();
  }

  *keys(): IterableIterator<number> {
    for (const [ticket] of this.entries()) yield ticket;
  }

  /** Sets a ticket at or below the last one set: in the window, or with the spilled ones. */
  private setBack(ticket: number, value: V): void {
    if (ticket < this.first) {
      this.spilled.set(ticket, value);
      return;
    }
    const at = this.head + ticket - this.first;
    if (this.slots[at] === undefined) this.live++;
    this.slots[at] = value;
  }

  /** Moves the window past the holes at its start; drops the spent slots when they are all or half of it. */
  private advance(): void {
    const { slots } = this;
    while (this.head < slots.length && slots[this.head] === undefined) {
      this.head++;
      this.first++;
    }
    if (this.head === slots.length) {
      this.slots = [];
      this.head = 0;
    } else if (this.head >= 1_024 && this.head * 2 >= slots.length) {
      this.slots = slots.slice(this.head);
      this.head = 0;
    }
  }

  /** Moves the window's entries to {@link spilled}; the window starts again empty, after the last ticket. */
  private spill(): void {
    for (let at = this.head; at < this.slots.length; at++) {
      const value = this.slots[at];
      if (value !== undefined) this.spilled.set(this.first + at - this.head, value);
    }
    this.slots = [];
    this.head = 0;
    this.first = this.last + 1;
    this.live = 0;
  }
}

/** A FIFO queue with O(1) `shift`, for the engine's task queues. */
export class Queue<T> {
  private items: T[] = [];
  /** Position of the first item in `items`; the slots before it are spent. */
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Puts `item` first. */
  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The items, in order, without removing them. */
  toArray(): T[] {
    return this.items.slice(this.head);
  }

  /** Removes every item and returns them in order. */
  drain(): T[] {
    const items = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return items;
  }
}

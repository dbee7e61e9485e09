import { Ledger } from '../src/transport/ledger';
import { TicketWindow } from '../src/transport/ticketWindow';
import type { RunObserver } from '../src/transport/transport';

/** An observer that records what it hears, named by `name`. */
function observer(name: number, heard: string[]): RunObserver<number> {
  return {
    started: () => heard.push(`${name} started`),
    next: (value) => heard.push(`${name} next ${value}`),
    complete: () => heard.push(`${name} complete`),
    error: () => heard.push(`${name} error`),
  };
}

/** The tickets left, in the order the ledger lists them. */
const left = (ledger: Ledger<number>): number[] => [...ledger.entries()].map(([ticket]) => ticket);

describe('Ledger', () => {
  test('tickets count from 1; a task ends once, in any order, and what is left is listed in hand-over order', () => {
    const heard: string[] = [];
    const ledger = new Ledger<number>();
    const tickets = [1, 2, 3, 4, 5].map((name) => ledger.hand(observer(name, heard)));
    expect(tickets).toEqual([1, 2, 3, 4, 5]);
    ledger.started(2);
    ledger.started(2);
    ledger.next(3, 30);
    expect(heard).toEqual(['2 started', '3 next 30']);
    expect(ledger.end(3)).toBeDefined();
    expect(ledger.end(3)).toBeUndefined();
    expect(ledger.end(1)).toBeDefined();
    expect(ledger.has(1)).toBe(false);
    expect(ledger.has(2)).toBe(true);
    expect(ledger.has(6)).toBe(false);
    expect(left(ledger)).toEqual([2, 4, 5]);
    const exit = ledger.atExit((ticket) => ({ started: ticket === 4, blocking: false }));
    expect(exit.map((task) => task.started)).toEqual([true, true, false]);
    expect(left(ledger)).toEqual([]);
    expect(ledger.hand(observer(6, heard))).toBe(6);
    expect(left(ledger)).toEqual([6]);
  });

  test('a task that stays while 100,000 after it end: the others leave no trace, and it is still found, listed first and ended once', () => {
    const heard: string[] = [];
    const ledger = new Ledger<number>();
    const long = ledger.hand(observer(0, heard));
    const recent: number[] = [];
    for (let i = 1; i <= 100_000; i++) {
      recent.push(ledger.hand(observer(i, heard)));
      // Two in flight behind the long task, ending in order, out of order now and then.
      if (recent.length > 2) ledger.end(i % 7 === 0 ? recent.splice(1, 1)[0]! : recent.shift()!);
    }
    expect(left(ledger)).toEqual([long, ...recent]);
    expect(ledger.observer(long)).toBeDefined();
    ledger.next(long, 7);
    expect(heard).toEqual(['0 next 7']);
    expect(ledger.end(long)).toBeDefined();
    expect(ledger.end(long)).toBeUndefined();
    expect(left(ledger)).toEqual(recent);
    for (const ticket of recent) expect(ledger.end(ticket)).toBeDefined();
    expect(left(ledger)).toEqual([]);
    // The array behind it holds no more than its live tasks and a few thousand spent slots.
    expect((ledger as unknown as { tasks: { slots: unknown[] } }).tasks.slots.length).toBeLessThan(8_192);
  });

  test('clear forgets every task; tickets go on from the last', () => {
    const ledger = new Ledger<number>();
    for (let i = 0; i < 5_000; i++) ledger.hand(observer(i, []));
    for (let ticket = 2; ticket <= 5_000; ticket += 2) ledger.end(ticket);
    ledger.clear();
    expect(left(ledger)).toEqual([]);
    expect(ledger.has(1)).toBe(false);
    expect(ledger.hand(observer(0, []))).toBe(5_001);
  });
});

describe('TicketWindow', () => {
  /** What a Map given the same calls holds, against what the window holds, in ticket order. */
  const same = (window: TicketWindow<number>, map: Map<number, number>): void => {
    expect([...window]).toEqual([...map].sort(([a], [b]) => a - b));
    expect(window.size).toBe(map.size);
  };

  test('behaves as a Map over tickets set in increasing order with gaps, deleted in any order', () => {
    const window = new TicketWindow<number>();
    const map = new Map<number, number>();
    let ticket = 0;
    let seed = 7;
    const next = (): number => (seed = (seed * 48_271) % 2_147_483_647);
    for (let step = 0; step < 30_000; step++) {
      if (next() % 3 !== 0) {
        ticket += 1 + (next() % 50 === 0 ? next() % 10_000 : 0); // now and then a gap, sometimes past the spill size
        window.set(ticket, step);
        map.set(ticket, step);
      } else if (map.size > 0) {
        // Mostly the oldest (a Map keeps insertion order, here ticket order), now and then any.
        const gone = next() % 4 === 0 ? [...map.keys()][next() % map.size]! : map.keys().next().value!;
        expect(window.delete(gone)).toBe(true);
        map.delete(gone);
        expect(window.delete(gone)).toBe(false);
        expect(window.get(gone)).toBeUndefined();
      }
      if (step % 5_000 === 0) same(window, map);
    }
    same(window, map);
    for (const [key, value] of map) expect(window.get(key)).toBe(value);
    expect(window.has(ticket + 1)).toBe(false);
  });

  test('a ticket set again, or below the last one set, is kept as a Map would keep it', () => {
    const window = new TicketWindow<string>();
    window.set(5, 'a');
    window.set(9, 'b');
    window.set(5, 'c');
    window.set(7, 'd');
    window.set(2, 'e');
    expect(window.get(5)).toBe('c');
    expect(window.get(7)).toBe('d');
    expect(window.get(2)).toBe('e');
    expect(window.size).toBe(4);
    expect([...window.keys()].sort((a, b) => a - b)).toEqual([2, 5, 7, 9]);
    window.clear();
    expect(window.size).toBe(0);
    window.set(10, 'f');
    expect([...window]).toEqual([[10, 'f']]);
  });
});

/**
 * Prices an order line. The quote takes `quantity` milliseconds to come back (a stand-in for
 * a pricing service), so lines finish out of order. The module exports its definition, so a
 * test can run the same code inline, in virtual time.
 */
import { map, timer } from 'rxjs';
import { defineWorker } from 'looppool/worker';

/** An order line, parsed. */
export interface Line {
  sku: string;
  quantity: number;
  unitPrice: number;
}

/** Parses `"3 x sku @ 2.50"`. */
export function parse(text: string): Line {
  const [quantity, sku, unitPrice] = text.split(/\s*[x@]\s*/);
  return { sku: sku!, quantity: Number(quantity), unitPrice: Number(unitPrice) };
}

export default defineWorker((line: Line) => timer(line.quantity).pipe(map(() => line.quantity * line.unitPrice)));

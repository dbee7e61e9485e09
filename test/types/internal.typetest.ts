/**
 * The public record types (src/results.ts, documented for the API reference) are the ones the
 * engine builds: this fails to compile if the two drift apart.
 */
import type { Delivery as EngineDelivery } from '../../src/engine/resultBuffer';
import type { Settled as EngineSettled } from '../../src/engine/types';
import type { Delivery, Settled } from '../../src/results';

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
const assert = <T extends true>(): T => true as T;

assert<Equal<Settled<number, string>, EngineSettled<number, string>>>();
assert<Equal<Delivery<string>, EngineDelivery<string>>>();

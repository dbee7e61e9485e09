/**
 * The public record types (src/results.ts, documented for the API reference) are the ones the
 * engine builds: this fails to compile if the two drift apart. (`Delivery` is declared once,
 * in src/results.ts, and the engine builds that one.)
 */
import type { Settled as EngineSettled } from '../../src/engine/types';
import type { Settled } from '../../src/results';

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
const assert = <T extends true>(): T => true as T;

assert<Equal<Settled<number, string>, EngineSettled<number, string>>>();

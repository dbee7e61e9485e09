import { defineWorker } from 'looppool/worker';

/** A generated customer record. */
export interface Customer {
  id: number;
  name: string;
  email: string;
  note: string;
}

/**
 * Work worth a thread: a 32-bit FNV-1a hash of the record, folded over itself `rounds` times.
 * Pure JavaScript on purpose: node:crypto's hashes take a process-wide OpenSSL lock, so
 * threads hashing with it at once do not scale (two processes do).
 */
export function fingerprint(record: Customer, rounds = 50): string {
  const text = JSON.stringify(record);
  let hash = 0x811c9dc5;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    hash ^= round;
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

export default defineWorker((record: Customer) => fingerprint(record));

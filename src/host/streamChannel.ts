import type { Readable, Writable } from 'node:stream';
import { deserialize, serialize } from 'node:v8';
import type { Channel } from '../transport/channel';

/** Bytes of the length that starts every frame (an unsigned 32-bit big-endian integer). */
const headerSize = 4;

/**
 * A {@link Channel} over a pair of byte streams (stdin and stdout, a socket, a stream of a
 * message bus): each message is one frame, its length in 4 bytes (big-endian) and then the
 * message as V8 serializes it (the structured clone of `serialization: 'advanced'`). It is
 * what lets the worker host serve a pool that is not its parent.
 */
export function streamChannel(input: Readable, output: Writable): Channel {
  const listeners: Array<(message: unknown[]) => void> = [];
  /** Bytes received and not yet read as whole frames. */
  let pending: Buffer = Buffer.alloc(0);
  input.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= headerSize) {
      const size = pending.readUInt32BE(0);
      if (pending.length < headerSize + size) break;
      const message = deserialize(pending.subarray(headerSize, headerSize + size)) as unknown[];
      pending = pending.subarray(headerSize + size);
      for (const listener of listeners) listener(message);
    }
  });
  return {
    postMessage(message) {
      const body = serialize(message); // throws at once for what cannot be cloned
      const header = Buffer.alloc(headerSize);
      header.writeUInt32BE(body.length, 0);
      output.write(Buffer.concat([header, body]));
    },
    on(_event, listener) {
      listeners.push(listener);
      return this;
    },
  };
}

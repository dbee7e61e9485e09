/**
 * Messages larger than the NATS server's `max_payload` cross in pieces. A whole message is one
 * `v8.serialize`d array, whose first byte is always 0xFF (the serializer's version tag); a
 * piece starts with {@link pieceMark} instead:
 *
 * ```
 * [pieceMark][sender length: 1 byte][sender: utf-8][total: u32 BE][offset: u32 BE][bytes…]
 * ```
 *
 * One sender's pieces are published back to back on one connection and subject, so they
 * arrive in order; pieces of several senders may interleave, so the receiver keeps one
 * partial message per sender.
 */

/** The first byte of a piece (a whole message starts with 0xFF). */
const pieceMark = 0x01;

/**
 * The largest message the cluster carries, in pieces if need be: 64 MiB once serialized. A
 * task, a result, `workerData` or an emitted value past it fails with `PayloadTooLargeError`
 * (the receiver holds a whole message in memory before it decodes it).
 */
export const clusterMessageLimit = 64 * 1024 * 1024;

/** The server's `max_payload` until its INFO says otherwise: nats-server's default, 1 MiB. */
export const defaultMaxPayload = 1024 * 1024;

/** Room kept in each piece for its header. */
const headerRoom = 128;

/** Splits `data` into pieces of at most `maxPayload` bytes each, header included. */
export function toPieces(sender: string, data: Uint8Array, maxPayload: number): Uint8Array[] {
  const name = Buffer.from(sender, 'utf8');
  const head = 1 + 1 + name.length + 8;
  const room = Math.max(1, maxPayload - Math.max(head, headerRoom));
  const pieces: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += room) {
    const body = data.subarray(offset, offset + room);
    const piece = Buffer.allocUnsafe(head + body.length);
    piece[0] = pieceMark;
    piece[1] = name.length;
    name.copy(piece, 2);
    piece.writeUInt32BE(data.length, 2 + name.length);
    piece.writeUInt32BE(offset, 6 + name.length);
    piece.set(body, head);
    pieces.push(piece);
  }
  return pieces;
}

/**
 * Puts pieces back together: one partial message per sender, dropped when a piece does not
 * follow the last one (a piece lost with a connection: the whole message is lost, as any other
 * message lost then would be) or when the same sender starts another.
 */
export class Reassembly {
  /** Each sender's message being put together; at most one per sender, each at most {@link clusterMessageLimit}. */
  private readonly partial = new Map<string, { readonly data: Buffer; filled: number }>();

  /**
   * @returns the message whole: `data` itself when it is not a piece, the joined message when
   *   it is its last piece; `undefined` while pieces are missing.
   */
  accept(data: Uint8Array): Uint8Array | undefined {
    if (data[0] !== pieceMark || data.length < 10) return data;
    const piece = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const nameLength = piece[1]!;
    const head = 2 + nameLength + 8;
    if (piece.length < head) return undefined;
    const sender = piece.toString('utf8', 2, 2 + nameLength);
    const total = piece.readUInt32BE(2 + nameLength);
    const offset = piece.readUInt32BE(6 + nameLength);
    if (total > clusterMessageLimit) return undefined;
    let message = this.partial.get(sender);
    if (offset === 0) this.partial.set(sender, (message = { data: Buffer.allocUnsafe(total), filled: 0 }));
    if (!message || message.filled !== offset || message.data.length !== total || offset + piece.length - head > total) {
      this.partial.delete(sender);
      return undefined;
    }
    piece.copy(message.data, offset, head);
    message.filled += piece.length - head;
    if (message.filled < total) return undefined;
    this.partial.delete(sender);
    return message.data;
  }

  /** Forgets what `sender` had begun (it was lost). */
  forget(sender: string): void {
    this.partial.delete(sender);
  }
}

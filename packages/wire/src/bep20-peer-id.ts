/** Our client prefix (BEP 20, Azureus style): "SH" and version 0.1.0.0. */
export const PEER_ID_PREFIX = "-SH0100-";

/**
 * A 20-byte peer id: the client prefix and 12 printable characters from `randomBytes` (6 bytes
 * in hex). Randomness is passed in so this package stays free of I/O.
 */
export function makePeerId(randomBytes: Uint8Array): Buffer {
  if (randomBytes.length !== 6) throw new RangeError(`makePeerId needs 6 random bytes, got ${randomBytes.length}`);
  return Buffer.concat([Buffer.from(PEER_ID_PREFIX), Buffer.from(Buffer.from(randomBytes).toString("hex"))]);
}

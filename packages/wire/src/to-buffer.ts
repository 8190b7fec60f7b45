/**
 * Views a Uint8Array as a Buffer without copying, so the slices handed to callers (piece
 * blocks, the bytes after a handshake) are Buffers whatever the caller pushed.
 */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

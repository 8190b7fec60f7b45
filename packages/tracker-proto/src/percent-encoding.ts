/**
 * Percent-encoding of arbitrary bytes for tracker query strings (BEP 3). Binary values such as
 * info_hash and peer_id are encoded byte by byte; only the RFC 3986 unreserved characters stay
 * literal. A space is always `%20`, never `+`: opentracker and others do not decode `+`.
 */
const HEX_UPPER = "0123456789ABCDEF";

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x2d || // -
    byte === 0x2e || // .
    byte === 0x5f || // _
    byte === 0x7e // ~
  );
}

export function percentEncodeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    if (isUnreserved(byte)) out += String.fromCharCode(byte);
    else out += "%" + HEX_UPPER[byte >> 4] + HEX_UPPER[byte & 0x0f];
  }
  return out;
}

/** Encodes a text value as UTF-8 and then byte by byte, like a binary value. */
export function percentEncodeText(text: string): string {
  return percentEncodeBytes(new TextEncoder().encode(text));
}

import { TrackerError } from "./tracker-error.js";

/** BEP 41 option types. */
export const UdpOption = { END_OF_OPTIONS: 0, NOP: 1, URL_DATA: 2 } as const;
/** An option's length is one byte, so URL data is carried in chunks of at most this size. */
export const URL_DATA_CHUNK_BYTES = 255;
/**
 * Longer paths are refused: a real announce path with a passkey is well under this, and the
 * whole request must fit comfortably in one datagram.
 */
export const URL_DATA_MAX_BYTES = 1024;

/**
 * Encodes the path and query of a UDP tracker URL as BEP 41 URL-data options, one option per
 * 255-byte chunk. Trackers that do not know BEP 41 (opentracker) ignore the trailing bytes.
 */
export function encodeUrlDataOptions(urlData: string): Uint8Array {
  const data = new TextEncoder().encode(urlData);
  if (data.length > URL_DATA_MAX_BYTES) {
    throw new TrackerError("INVALID_URL", `UDP tracker path of ${data.length} bytes exceeds ${URL_DATA_MAX_BYTES} bytes`, {
      context: { bytes: data.length, maxBytes: URL_DATA_MAX_BYTES },
    });
  }
  const chunks = Math.ceil(data.length / URL_DATA_CHUNK_BYTES);
  const out = new Uint8Array(data.length + 2 * chunks);
  let at = 0;
  for (let i = 0; i < chunks; i++) {
    const chunk = data.subarray(i * URL_DATA_CHUNK_BYTES, (i + 1) * URL_DATA_CHUNK_BYTES);
    out[at++] = UdpOption.URL_DATA;
    out[at++] = chunk.length;
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Reads the URL data back out of a BEP 41 option block (for fake trackers and tests). Stops at
 * END_OF_OPTIONS or the end; an option running past the end is BAD_RESPONSE.
 */
export function decodeUrlDataOptions(bytes: Uint8Array): string {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const type = bytes[at++]!;
    if (type === UdpOption.END_OF_OPTIONS) break;
    if (type === UdpOption.NOP) continue;
    if (at >= bytes.length) throw new TrackerError("BAD_RESPONSE", `BEP 41 option ${type} has no length byte`, { context: { field: "options" } });
    const length = bytes[at++]!;
    if (at + length > bytes.length) {
      throw new TrackerError("BAD_RESPONSE", `BEP 41 option ${type} of ${length} bytes runs past the packet end`, {
        context: { field: "options" },
      });
    }
    if (type === UdpOption.URL_DATA) parts.push(bytes.subarray(at, at + length));
    at += length;
  }
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return new TextDecoder().decode(joined);
}

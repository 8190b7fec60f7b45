/**
 * Converts raw bytes to a latin1 string (one char per byte), the form dict keys take. Chunked so
 * `String.fromCharCode.apply` never receives more arguments than the engine allows.
 */
const CHUNK_CHARS = 8192;

export function bytesToLatin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const length = end - start;
  if (length <= 16) {
    // Most keys are a few bytes long; a plain loop avoids the `apply` call overhead.
    let out = "";
    for (let i = start; i < end; i++) out += String.fromCharCode(bytes[i]!);
    return out;
  }
  let out = "";
  for (let i = start; i < end; i += CHUNK_CHARS) {
    const chunk = bytes.subarray(i, Math.min(end, i + CHUNK_CHARS));
    out += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return out;
}

/** The inverse of `bytesToLatin1`; returns undefined when a char does not fit in one byte. */
export function latin1ToBytes(text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) return undefined;
    out[i] = code;
  }
  return out;
}

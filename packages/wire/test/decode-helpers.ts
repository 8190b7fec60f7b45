import { MessageDecoder } from "@shoal/wire";
import type { DecoderLimits, Message } from "@shoal/wire";

/** A message with its byte fields as hex, so comparisons do not depend on Buffer vs Uint8Array. */
export type PlainMessage = Record<string, string | number>;

export function plain(m: Message): PlainMessage {
  const out: PlainMessage = {};
  for (const [key, value] of Object.entries(m)) {
    out[key] = value instanceof Uint8Array ? Buffer.from(value).toString("hex") : (value as string | number);
  }
  return out;
}

/** Decodes `chunks` in order with a fresh decoder and returns every message as plain data. */
export function decodeChunks(limits: DecoderLimits, chunks: readonly Uint8Array[]): PlainMessage[] {
  const messages: PlainMessage[] = [];
  const decoder = new MessageDecoder(limits, (m) => messages.push(plain(m)));
  for (const chunk of chunks) decoder.push(chunk);
  return messages;
}

/** Splits `bytes` at the given ascending offsets, producing fresh copies of every piece. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(Buffer.from(bytes.subarray(start, cut)));
    start = cut;
  }
  return chunks;
}

/** Runs `fn` and returns the error it throws, failing the test if it does not throw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to throw");
}

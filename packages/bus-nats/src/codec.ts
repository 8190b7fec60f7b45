import { CoordinationError, headroomOf, type HeadroomLoan } from "@shoal/coordination";

/**
 * The body of every bus message: UTF-8 JSON, then, only when the payload holds bytes, one newline
 * byte and the raw bytes of every Uint8Array field back to back. In the JSON each such field is
 * replaced by a reference `{"$bin":[offset,length]}` into that tail, so piece bytes travel as they
 * are (no base64: a third more on the wire and a copy through a string) while every other field
 * stays readable with `nats sub`. A payload without bytes is plain JSON. JSON text written by
 * `JSON.stringify` never holds a raw newline, so the first 0x0A byte always ends the JSON part.
 */
const SEPARATOR = 0x0a;
/** The key of a byte reference; payload objects may not use it themselves. */
const BIN_KEY = "$bin";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export interface EncodeOptions {
  /**
   * The body may be built in the headroom lent in front of the payload's byte field (see
   * `lendHeadroom` in @shoal/coordination), aliasing the bytes instead of copying them. Only for
   * a caller whose publish is done with the body once it resolves: a JetStream publish, which
   * waits for the server's ack and so for nats.js to have copied the body into its outbound
   * buffer; not a core publish, which returns before nats.js packs the body (a microtask later).
   */
  readonly intoHeadroom?: boolean;
}

/**
 * The header each loan's room was written with. An earlier body built in the room may still be
 * queued inside nats.js when the same payload is published again (a publish that timed out while
 * disconnected), so the room is written with one header only: another header is copied instead.
 */
const written = new WeakMap<HeadroomLoan, string>();

/**
 * Encodes a payload into one message body. The bytes are copied into that body, except for a
 * payload with exactly one byte field whose holder lent room for the header in front of it (and
 * `intoHeadroom`): then the body is the header, separator and bytes in place, byte for byte what
 * the copy would be.
 */
export function encodePayload(payload: unknown, options: EncodeOptions = {}): Uint8Array {
  const segments: Uint8Array[] = [];
  let tailBytes = 0;
  const refs = new WeakSet<object>();
  const refTo = (bytes: Uint8Array): object => {
    const ref = { [BIN_KEY]: [tailBytes, bytes.byteLength] };
    segments.push(bytes);
    tailBytes += bytes.byteLength;
    refs.add(ref);
    return ref;
  };
  const swap = (v: unknown): unknown => (v instanceof Uint8Array ? refTo(v) : v);
  const json = JSON.stringify(swap(payload), (key: string, value: unknown) => {
    if (value === null || typeof value !== "object" || refs.has(value)) return value;
    if (value instanceof Uint8Array) return refTo(value);
    if (!Array.isArray(value) && Object.hasOwn(value, BIN_KEY)) {
      throw new CoordinationError("INVARIANT_BROKEN", `payload field "${key}" holds the key "${BIN_KEY}", which the bus codec reserves`);
    }
    // Byte fields become references here, while their parent is visited: JSON.stringify calls a
    // field's toJSON before the replacer sees the field, and a Buffer's toJSON builds an array of
    // one number per byte, which a replacer at the field itself could only throw away (for a
    // 1 MiB piece that cost a peer-worker more CPU than all its other work).
    if (!Object.values(value).some((v) => v instanceof Uint8Array)) return value;
    return Array.isArray(value) ? value.map(swap) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, swap(v)]));
  });
  if (json === undefined) throw new CoordinationError("INVARIANT_BROKEN", "payload is not JSON-encodable");
  const head = encoder.encode(json);
  if (segments.length === 0) return head;
  if (options.intoHeadroom === true && segments.length === 1) {
    const body = inHeadroom(json, head, segments[0]);
    if (body) return body;
  }
  // Every byte is written below, so the body needs no zero-fill (a page-faulting pass over a piece).
  const raw = Buffer.allocUnsafe(head.byteLength + 1 + tailBytes);
  const body = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  body.set(head, 0);
  body[head.byteLength] = SEPARATOR;
  let at = head.byteLength + 1;
  for (const s of segments) {
    body.set(s, at);
    at += s.byteLength;
  }
  return body;
}

/** The body written into the room lent in front of `bytes`; undefined when there is none, or too little. */
function inHeadroom(json: string, head: Uint8Array, bytes: Uint8Array): Uint8Array | undefined {
  const loan = headroomOf(bytes);
  const room = head.byteLength + 1;
  if (loan === undefined || room > loan.bytes) return undefined;
  const before = written.get(loan);
  if (before !== undefined && before !== json) return undefined;
  written.set(loan, json);
  const body = new Uint8Array(bytes.buffer, bytes.byteOffset - room, room + bytes.byteLength);
  body.set(head, 0);
  body[head.byteLength] = SEPARATOR;
  return body;
}

/**
 * Decodes a message body. Byte fields come back as views into `body` (no copy): a handler that
 * keeps one keeps the whole message alive. Throws CoordinationError INVARIANT_BROKEN for a body
 * that is not a bus message (bad UTF-8 or JSON, a reference outside the tail, tail bytes no
 * reference covers).
 */
export function decodePayload(body: Uint8Array): unknown {
  const end = body.indexOf(SEPARATOR);
  const head = end < 0 ? body : body.subarray(0, end);
  const tail = end < 0 ? new Uint8Array(0) : body.subarray(end + 1);
  let text: string;
  try {
    text = decoder.decode(head);
  } catch (err) {
    throw malformed("its JSON part is not UTF-8", err);
  }
  let referenced = 0;
  let value: unknown;
  try {
    value = JSON.parse(text, (_key, v: unknown) => {
      if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, BIN_KEY)) return v;
      const ref = (v as Record<string, unknown>)[BIN_KEY];
      if (Object.keys(v).length !== 1 || !isRef(ref) || ref[0] + ref[1] > tail.byteLength) {
        throw malformed(`byte reference ${JSON.stringify(v)} does not point into its ${tail.byteLength}-byte tail`);
      }
      referenced += ref[1];
      return tail.subarray(ref[0], ref[0] + ref[1]);
    });
  } catch (err) {
    if (err instanceof CoordinationError) throw err;
    throw malformed("its JSON part does not parse", err);
  }
  // Encoded references tile the tail exactly; anything else is a different or damaged format.
  if (referenced !== tail.byteLength) {
    throw malformed(`references cover ${referenced} of ${tail.byteLength} tail bytes`);
  }
  return value;
}

function isRef(ref: unknown): ref is [number, number] {
  return (
    Array.isArray(ref) &&
    ref.length === 2 &&
    ref.every((n) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0)
  );
}

function malformed(why: string, cause?: unknown): CoordinationError {
  return new CoordinationError("INVARIANT_BROKEN", `bus message is malformed: ${why}`, { cause });
}

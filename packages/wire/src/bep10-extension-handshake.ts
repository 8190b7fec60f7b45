import { decode, encode, type BValue } from "@shoal/bencode";

/** What a peer's BEP 10 extension handshake (extended message id 0) tells us. */
export interface ExtensionHandshake {
  /** Extension name -> the message id the peer wants it sent with (`m`); 0 entries (disabled) left out. */
  readonly extensions: ReadonlyMap<string, number>;
  /** BEP 9 `metadata_size`, when the peer has the metadata. */
  readonly metadataSize?: number;
  /** Requests the peer queues (`reqq`). */
  readonly requestQueue?: number;
  /** Its client name (`v`), for logs. */
  readonly client?: string;
  /** Its listen port (`p`), when it dialled us. */
  readonly listenPort?: number;
}

export interface ExtensionHandshakeFields {
  /** Extensions we support: name -> the id peers must send them with. */
  readonly extensions?: Readonly<Record<string, number>>;
  readonly metadataSize?: number;
  readonly listenPort?: number;
  readonly requestQueue?: number;
  readonly client?: string;
}

/** The extension handshake payload we send. */
export function encodeExtensionHandshake(f: ExtensionHandshakeFields): Buffer {
  const m = new Map<string, BValue>(Object.entries(f.extensions ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));
  const fields: Record<string, unknown> = { m };
  if (f.metadataSize !== undefined && f.metadataSize > 0) fields["metadata_size"] = f.metadataSize;
  if (f.listenPort !== undefined && f.listenPort > 0) fields["p"] = f.listenPort;
  if (f.requestQueue !== undefined) fields["reqq"] = f.requestQueue;
  if (f.client !== undefined) fields["v"] = f.client;
  return Buffer.from(encode(fields as never));
}

/** A handshake lists a few extensions; more than this is noise we do not keep. */
const MAX_EXTENSIONS = 64;

/**
 * Reads the parts we use. Peers vary a lot, so anything malformed is ignored (left out of the
 * result) rather than fatal; the dict itself is decoded under tight bencode limits.
 */
export function decodeExtensionHandshake(payload: Uint8Array): ExtensionHandshake {
  let v: BValue;
  try {
    v = decode(payload, { keyOrder: "lenient", limits: { maxDepth: 8, maxTokens: 10_000 } });
  } catch {
    return { extensions: new Map() };
  }
  if (!(v instanceof Map)) return { extensions: new Map() };
  const extensions = new Map<string, number>();
  const m = v.get("m");
  if (m instanceof Map) {
    for (const [name, id] of m) {
      if (extensions.size >= MAX_EXTENSIONS) break;
      if (typeof id === "number" && Number.isInteger(id) && id > 0 && id < 256) extensions.set(name, id);
    }
  }
  const out: { -readonly [K in keyof ExtensionHandshake]: ExtensionHandshake[K] } = { extensions };
  const size = v.get("metadata_size");
  const reqq = v.get("reqq");
  const client = v.get("v");
  const port = v.get("p");
  if (typeof size === "number" && Number.isSafeInteger(size) && size > 0) out.metadataSize = size;
  if (typeof reqq === "number" && reqq > 0) out.requestQueue = Math.min(reqq, 10_000);
  if (client instanceof Uint8Array) out.client = Buffer.from(client).toString("utf8").slice(0, 64);
  if (typeof port === "number" && port > 0 && port < 65536) out.listenPort = port;
  return out;
}

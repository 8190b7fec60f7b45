import { decode, encode, type BValue } from "@shoal/bencode";

/** What we learn from a peer's BEP 10 extension handshake. */
export interface ExtensionInfo {
  /** Requests the peer queues (`reqq`), when it says. */
  readonly requestQueue?: number;
  /** Its client name (`v`), for logs. */
  readonly client?: string;
  /** Its listen port (`p`), when it dialled us. */
  readonly listenPort?: number;
}

/** The extension handshake payload (message id 20, extended id 0) we send. */
export function encodeExtensionHandshake(opts: { listenPort: number; requestQueue: number; client: string }): Buffer {
  const fields: Record<string, unknown> = { m: new Map<string, BValue>(), reqq: opts.requestQueue, v: opts.client };
  if (opts.listenPort > 0) fields["p"] = opts.listenPort;
  return Buffer.from(encode(fields as never));
}

/** Reads the parts we use; anything malformed is ignored rather than fatal (peers vary a lot). */
export function decodeExtensionHandshake(payload: Uint8Array): ExtensionInfo {
  let v: BValue;
  try {
    v = decode(payload, { keyOrder: "lenient", limits: { maxDepth: 8, maxTokens: 10_000 } });
  } catch {
    return {};
  }
  if (!(v instanceof Map)) return {};
  const reqq = v.get("reqq");
  const client = v.get("v");
  const port = v.get("p");
  const out: { requestQueue?: number; client?: string; listenPort?: number } = {};
  if (typeof reqq === "number" && reqq > 0) out.requestQueue = Math.min(reqq, 10_000);
  if (client instanceof Uint8Array) out.client = Buffer.from(client).toString("utf8").slice(0, 64);
  if (typeof port === "number" && port > 0 && port < 65536) out.listenPort = port;
  return out;
}

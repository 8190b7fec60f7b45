import { DecodeError, decode, encode, isBytes, isDict, isList, type BDict, type BValue, type BencodeLimits, type Encodable } from "@shoal/bencode";
import { decodeCompactNodes, decodeCompactPeer, encodeCompactNodes, encodeCompactPeer, type NodeInfo, type PeerEndpoint } from "./compact.js";
import { DhtError } from "./dht-error.js";
import { ID_BYTES } from "./node-id.js";

/**
 * KRPC (BEP 5): the four queries, their responses and errors, over single UDP datagrams. Every
 * datagram is decoded under tight bencode limits before any field is read, and a message whose
 * fields have the wrong type or length is refused as a whole: the caller drops it.
 */

/**
 * Largest datagram read. Real KRPC messages fit one Ethernet frame (a get_peers response with
 * 100 peers is under 1 KiB); anything bigger is refused before it is decoded.
 */
export const MAX_KRPC_BYTES = 4096;

/** Bencode limits for one KRPC message: depth 3 is all BEP 5 needs; a little room for extensions. */
export const KRPC_BENCODE_LIMITS: BencodeLimits = Object.freeze({ maxDepth: 6, maxTokens: 1024, maxStringBytes: MAX_KRPC_BYTES });

/** Peers read from one get_peers response; more are ignored (libtorrent sends at most 100). */
export const MAX_VALUES_PER_RESPONSE = 200;
/** Nodes read from one response (8 is usual; a few clients send 16). */
export const MAX_NODES_PER_RESPONSE = 32;
/** Longest transaction id answered; ours are 2 bytes, libtorrent's 2 to 4. */
export const MAX_TRANSACTION_ID_BYTES = 16;
/** Longest token accepted; BEP 5 tokens are short opaque strings (libtorrent sends 4 bytes). */
export const MAX_TOKEN_BYTES = 64;

export const KRPC_ERROR_CODES = { generic: 201, server: 202, protocol: 203, methodUnknown: 204 } as const;

export type KrpcQuery =
  | { readonly kind: "query"; readonly t: Uint8Array; readonly method: "ping"; readonly id: Uint8Array; readonly readOnly: boolean }
  | { readonly kind: "query"; readonly t: Uint8Array; readonly method: "find_node"; readonly id: Uint8Array; readonly readOnly: boolean; readonly target: Uint8Array }
  | { readonly kind: "query"; readonly t: Uint8Array; readonly method: "get_peers"; readonly id: Uint8Array; readonly readOnly: boolean; readonly infoHash: Uint8Array }
  | {
      readonly kind: "query";
      readonly t: Uint8Array;
      readonly method: "announce_peer";
      readonly id: Uint8Array;
      readonly readOnly: boolean;
      readonly infoHash: Uint8Array;
      readonly port: number;
      /** BEP 5 implied_port: the peer's port is the UDP source port. */
      readonly impliedPort: boolean;
      readonly token: Uint8Array;
    }
  | { readonly kind: "query"; readonly t: Uint8Array; readonly method: "unknown"; readonly name: string; readonly id: Uint8Array; readonly readOnly: boolean };

export interface KrpcResponse {
  readonly kind: "response";
  readonly t: Uint8Array;
  readonly id: Uint8Array;
  readonly nodes: readonly NodeInfo[];
  readonly values: readonly PeerEndpoint[];
  readonly token?: Uint8Array;
}

export interface KrpcError {
  readonly kind: "error";
  readonly t: Uint8Array;
  readonly code: number;
  readonly message: string;
}

export type KrpcMessage = KrpcQuery | KrpcResponse | KrpcError;

function bad(message: string): never {
  throw new DhtError("BAD_MESSAGE", `KRPC: ${message}`);
}

function bytesField(d: BDict, key: string, where: string): Uint8Array {
  const v = d.get(key);
  if (v === undefined || !isBytes(v)) bad(`${where}.${key} is missing or not a byte string`);
  return v;
}

function idField(d: BDict, key: string, where: string): Uint8Array {
  const v = bytesField(d, key, where);
  if (v.length !== ID_BYTES) bad(`${where}.${key} is ${v.length} bytes, not ${ID_BYTES}`);
  return v.slice();
}

function flag(d: BDict, key: string): boolean {
  const v = d.get(key);
  return typeof v === "number" && v !== 0;
}

const latin1 = new TextDecoder("latin1");

/**
 * Decodes one datagram. Throws DhtError BAD_MESSAGE (or DecodeError for malformed bencode) for
 * anything that is not a well-formed KRPC message; never another error.
 */
export function decodeKrpc(datagram: Uint8Array): KrpcMessage {
  if (datagram.length > MAX_KRPC_BYTES) bad(`datagram of ${datagram.length} bytes is over ${MAX_KRPC_BYTES}`);
  // Key order is not checked: no hash is taken over these bytes, and some clients do not sort.
  const root: BValue = decode(datagram, { limits: KRPC_BENCODE_LIMITS, keyOrder: "lenient" });
  if (!isDict(root)) bad("message is not a dict");
  const t = bytesField(root, "t", "message");
  if (t.length === 0 || t.length > MAX_TRANSACTION_ID_BYTES) bad(`transaction id of ${t.length} bytes`);
  const y = bytesField(root, "y", "message");
  const type = latin1.decode(y);
  if (type === "q") return decodeQuery(root, t.slice());
  if (type === "r") return decodeResponse(root, t.slice());
  if (type === "e") return decodeError(root, t.slice());
  return bad(`unknown message type "${type.slice(0, 8)}"`);
}

function decodeQuery(root: BDict, t: Uint8Array): KrpcQuery {
  const name = latin1.decode(bytesField(root, "q", "message")).slice(0, 32);
  const a = root.get("a");
  if (a === undefined || !isDict(a)) bad("query arguments (a) missing or not a dict");
  const id = idField(a, "id", "a");
  const readOnly = flag(root, "ro");
  switch (name) {
    case "ping":
      return { kind: "query", t, method: "ping", id, readOnly };
    case "find_node":
      return { kind: "query", t, method: "find_node", id, readOnly, target: idField(a, "target", "a") };
    case "get_peers":
      return { kind: "query", t, method: "get_peers", id, readOnly, infoHash: idField(a, "info_hash", "a") };
    case "announce_peer": {
      const port = a.get("port");
      const impliedPort = flag(a, "implied_port");
      if (!impliedPort && (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)) bad("a.port is not a port number");
      const token = bytesField(a, "token", "a");
      if (token.length > MAX_TOKEN_BYTES) bad(`a.token of ${token.length} bytes`);
      return { kind: "query", t, method: "announce_peer", id, readOnly, infoHash: idField(a, "info_hash", "a"), port: impliedPort ? 0 : (port as number), impliedPort, token: token.slice() };
    }
    default:
      return { kind: "query", t, method: "unknown", name, id, readOnly };
  }
}

function decodeResponse(root: BDict, t: Uint8Array): KrpcResponse {
  const r = root.get("r");
  if (r === undefined || !isDict(r)) bad("response (r) missing or not a dict");
  const id = idField(r, "id", "r");
  const nodesRaw = r.get("nodes");
  if (nodesRaw !== undefined && !isBytes(nodesRaw)) bad("r.nodes is not a byte string");
  const valuesRaw = r.get("values");
  if (valuesRaw !== undefined && !isList(valuesRaw)) bad("r.values is not a list");
  const tokenRaw = r.get("token");
  if (tokenRaw !== undefined && (!isBytes(tokenRaw) || tokenRaw.length > MAX_TOKEN_BYTES)) bad("r.token is not a short byte string");
  const values: PeerEndpoint[] = [];
  for (const v of valuesRaw ?? []) {
    if (values.length >= MAX_VALUES_PER_RESPONSE) break;
    // A malformed entry is skipped; the rest of the list may still be good.
    const p = isBytes(v) ? decodeCompactPeer(v) : undefined;
    if (p) values.push(p);
  }
  return {
    kind: "response",
    t,
    id,
    nodes: nodesRaw ? decodeCompactNodes(nodesRaw, MAX_NODES_PER_RESPONSE) : [],
    values,
    ...(tokenRaw !== undefined ? { token: (tokenRaw as Uint8Array).slice() } : {}),
  };
}

function decodeError(root: BDict, t: Uint8Array): KrpcError {
  const e = root.get("e");
  if (e === undefined || !isList(e) || e.length < 2) bad("error (e) is not a [code, message] list");
  const [code, message] = e;
  if (typeof code !== "number" || !isBytes(message!)) bad("error (e) is not a [code, message] list");
  return { kind: "error", t, code, message: latin1.decode(message.subarray(0, 200)) };
}

/** Decodes, or returns undefined for anything malformed (the caller drops it). */
export function tryDecodeKrpc(datagram: Uint8Array): KrpcMessage | undefined {
  try {
    return decodeKrpc(datagram);
  } catch (err) {
    if (err instanceof DhtError || err instanceof DecodeError) return undefined;
    throw err;
  }
}

/** Our client version (BEP 5 `v`): "SH" and version 0.1. */
const CLIENT_VERSION = Uint8Array.of(0x53, 0x48, 0x00, 0x01);

export type QueryArgs =
  | { readonly method: "ping" }
  | { readonly method: "find_node"; readonly target: Uint8Array }
  | { readonly method: "get_peers"; readonly infoHash: Uint8Array }
  | { readonly method: "announce_peer"; readonly infoHash: Uint8Array; readonly port: number; readonly impliedPort: boolean; readonly token: Uint8Array };

export function encodeQuery(t: Uint8Array, id: Uint8Array, q: QueryArgs): Uint8Array {
  const a: Record<string, Encodable> = { id };
  if (q.method === "find_node") a["target"] = q.target;
  if (q.method === "get_peers" || q.method === "announce_peer") a["info_hash"] = q.infoHash;
  if (q.method === "announce_peer") {
    a["port"] = q.port;
    a["token"] = q.token;
    if (q.impliedPort) a["implied_port"] = 1;
  }
  return encode({ t, y: "q", q: q.method, a, v: CLIENT_VERSION });
}

export interface ResponseArgs {
  readonly nodes?: readonly NodeInfo[];
  readonly values?: readonly PeerEndpoint[];
  readonly token?: Uint8Array;
}

export function encodeResponse(t: Uint8Array, id: Uint8Array, r: ResponseArgs = {}): Uint8Array {
  const body: Record<string, Encodable> = { id };
  if (r.nodes !== undefined) body["nodes"] = encodeCompactNodes(r.nodes);
  if (r.values !== undefined && r.values.length > 0) body["values"] = r.values.map(encodeCompactPeer);
  if (r.token !== undefined) body["token"] = r.token;
  return encode({ t, y: "r", r: body, v: CLIENT_VERSION });
}

export function encodeError(t: Uint8Array, code: number, message: string): Uint8Array {
  return encode({ t, y: "e", e: [code, message] });
}

export { DhtError } from "./dht-error.js";
export type { DhtErrorCode } from "./dht-error.js";
export { ID_BYTES, compareDistance, idEquals, idHex, idInBucket, sharedPrefixBits, xorDistance } from "./node-id.js";
export { COMPACT_NODE_BYTES, COMPACT_PEER_BYTES, decodeCompactNodes, decodeCompactPeer, encodeCompactNodes, encodeCompactPeer, isIPv4 } from "./compact.js";
export type { NodeInfo, PeerEndpoint } from "./compact.js";
export {
  KRPC_BENCODE_LIMITS,
  KRPC_ERROR_CODES,
  MAX_KRPC_BYTES,
  MAX_NODES_PER_RESPONSE,
  MAX_VALUES_PER_RESPONSE,
  decodeKrpc,
  encodeError,
  encodeQuery,
  encodeResponse,
  tryDecodeKrpc,
} from "./bep5-krpc.js";
export type { KrpcError, KrpcMessage, KrpcQuery, KrpcResponse, QueryArgs, ResponseArgs } from "./bep5-krpc.js";
export { GOOD_FOR_MS, K, MAX_FAILURES, RoutingTable } from "./routing-table.js";
export type { InsertOutcome, RoutingEntry } from "./routing-table.js";
export { ALPHA, LOOKUP_K, Lookup, MAX_CANDIDATES, MAX_QUERIES_PER_LOOKUP } from "./lookup.js";
export type { Responder } from "./lookup.js";
export { TokenSecret } from "./token-secret.js";
export { DEFAULT_PEER_STORE_LIMITS, PeerStore } from "./peer-store.js";
export type { PeerStoreLimits } from "./peer-store.js";
export { PerSourceLimiter, TokenBucket } from "./rate-limit.js";
export { DEFAULT_DHT_LIMITS, DhtNode } from "./dht-node.js";
export type { DhtLimits, DhtNodeOptions, DhtStats } from "./dht-node.js";
export { DEFAULT_BOOTSTRAP, formatDhtState, parseBootstrapList, parseDhtState } from "./dht-state.js";
export type { BootstrapAddress, DhtState } from "./dht-state.js";

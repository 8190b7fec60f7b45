export { start } from "./service.js";
export type { ByteTotals, PeerWorkerDeps, RunningPeerWorker } from "./service.js";
export { ENDED_TOTALS_KEEP_MS } from "./service.js";
export { peerWorkerConfigSchema } from "./config.js";
export type { PeerWorkerConfig } from "./config.js";
export { ENCRYPTION_POLICIES } from "@shoal/wire-net";
export type { EncryptionPolicy } from "@shoal/wire-net";
export { pickPieces, RANDOM_FIRST_PIECES } from "./picker.js";
export { pickRuns, runPiecesFor } from "./run-picker.js";
export { decideUnchokes } from "./choker.js";
export { PieceBufferPool } from "./piece-buffer-pool.js";
// The BEP 10 handshake codec reads bytes from any peer; it is public so the fuzz harness and
// tests can drive it without a connection.

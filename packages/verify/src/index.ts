export { verifyTree, READ_CHUNK_BYTES, READ_AHEAD_CHUNKS } from "./verify-tree.js";
export type { VerifyOptions } from "./verify-tree.js";
export { planVerification, pieceReads, readChunks, tallyVerdicts, PIECE_OUTCOME } from "./verify-plan.js";
export type { VerifyPlan, PieceRead, ReadChunk, PieceOutcome, FileStatus, FileVerdict, VerifyReport } from "./verify-plan.js";

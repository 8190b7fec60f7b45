export { verifyTree, READ_CHUNK_BYTES, READ_AHEAD_CHUNKS } from "./verify-tree.js";
export type { VerifyOptions } from "./verify-tree.js";
export { planVerification, pieceReads, readChunks } from "./verify-plan.js";
export type { VerifyPlan, PieceRead, ReadChunk } from "./verify-plan.js";
export { tallyVerdicts, PIECE_OUTCOME } from "./file-verdicts.js";
export type { PieceOutcome, FileStatus, FileVerdict, VerifyReport } from "./file-verdicts.js";

export {
  PIECE_STATES,
  PIECE_STATE_CODE,
  TRANSITIONS,
  TRANSITION_RESULTS,
  isLegal,
  checkInvariants,
} from "./piece-state.js";
export type { PieceState, Transition, TransitionResult, PieceRecord } from "./piece-state.js";
export { CoordinationError, StorageError } from "./errors.js";
export { MAX_AVAILABILITY, addAvailability, addAvailabilityBytes, availabilityBytes, availabilityLengthError } from "./availability.js";
export type { CoordinationErrorCode, StorageErrorCode } from "./errors.js";
export { BAN_STRIKES, JOB_STARTS, MAX_FREE_PEERS, PEER_SHARE_SLACK_DIVISOR, fairPeerShare, peerShareOf } from "./ports/claim-table.js";
export type { Claim, ClaimTable, JobStart, KnownPeer, PeerGrant, PieceCounts, RejectOutcome, ReleasePeersOptions } from "./ports/claim-table.js";
export type { PieceBus, Subscription, SubscribeOptions, Delivery } from "./ports/piece-bus.js";
export type { ObjectStore, TorrentLayout, LayoutFile, StagedRef } from "./ports/object-store.js";
export type { TreeReader } from "./ports/tree-reader.js";
export type {
  JobQueue,
  JobContext,
  JobEvents,
  JobProgress,
  JobInfo,
  WorkerProgress,
  JobState,
  JobCounts,
  JobResult,
  TorrentJobData,
  TorrentJobOptions,
  TorrentSource,
} from "./ports/job-queue.js";
export type { TorrentCatalog, TorrentRecord } from "./ports/torrent-catalog.js";
export type { UploadLedger, LedgerObject, LedgerPart } from "./ports/upload-ledger.js";
export type { MetadataKeeper } from "./ports/metadata-keeper.js";
export { SUBJECTS, bytesSubjectOf, subjectOf } from "./subjects.js";
export { headroomOf, lendHeadroom } from "./headroom.js";
export type { HeadroomLoan } from "./headroom.js";
export type { SubjectName, SubjectPayloads, PeerAddress } from "./subjects.js";
export { activeInstanceKey, heldKey, ownedPeersKey, partsKey, peerWorkerPresenceKey, torrentKeys } from "./keys.js";
export { MemoryClaimTable } from "./memory/memory-claim-table.js";
export { MemoryBus } from "./memory/memory-bus.js";
export { MemoryJobQueue } from "./memory/memory-job-queue.js";
export { MemoryCatalog } from "./memory/memory-catalog.js";
export { MemoryUploadLedger } from "./memory/memory-upload-ledger.js";

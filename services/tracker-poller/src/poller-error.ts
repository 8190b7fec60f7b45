import { ShoalError } from "@shoal/errors";

export type PollerErrorCode = "NO_TRACKERS" | "FETCH_FAILED" | "BAD_SELECTION" | "STORAGE_FAILED" | "NO_METADATA";

/** Torrents the poller cannot run; permanent (retrying gives the same answer). */
export class PollerError extends ShoalError<PollerErrorCode> {
  static override readonly name = "PollerError";
}

import { ShoalError } from "@shoal/errors";

/**
 * Why a test fixture could not be brought up or answered wrongly. Tests branch on `code`;
 * messages carry the command, the address and the tail of the child's log so a failing CI run
 * explains itself without re-running.
 */
export type TestkitErrorCode =
  /** A required program or the python libtorrent module is not installed. */
  | "MISSING_BINARY"
  /** A child process exited before it became ready, or a tool exited with a failure status. */
  | "EARLY_EXIT"
  /** A deadline passed while waiting for a condition, a child or a tool. */
  | "TIMEOUT"
  /** An argument is out of range (piece length, address, sizes). */
  | "BAD_ARGUMENT"
  /** A .torrent file or a tracker answer could not be read. */
  | "BAD_INPUT"
  /** A control interface (tracker announce, RPC, WebUI) refused or failed a request. */
  | "RPC_FAILED";

export class TestkitError extends ShoalError<TestkitErrorCode> {
  static override readonly name = "TestkitError";
}

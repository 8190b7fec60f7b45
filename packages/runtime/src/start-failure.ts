import { isShoalError } from "@shoal/errors";

/** A one-line description of a start-up failure: the message of a ShoalError, else the error's. */
export function describeStartFailure(err: unknown): string {
  if (isShoalError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}

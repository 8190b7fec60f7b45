import { ShoalError, type ShoalErrorJson } from "@shoal/errors";
import { FAILURE_LOG_TAG } from "./keys.js";

/**
 * How a job's error crosses processes. BullMQ keeps one string per failed job, `failedReason`,
 * and operators read it in their tooling, so it holds the error's message and nothing else. The
 * whole error (name, code, context, retryable, cause) goes into the job's log, one line per
 * failed try: `shoal-error {json}`. Logs are BullMQ's own per-job record (tooling shows them,
 * `Queue.getJobLogs` reads them) and are deleted with the job.
 *
 * Reading picks the newest line whose message equals `failedReason`, so a line can never be
 * paired with a failure it does not describe (a later try that stalled, a failure BullMQ made
 * itself). Without such a line the error is rebuilt from `failedReason` alone.
 */

/** A non-ShoalError keeps its name and message, the shape ShoalErrorJson gives a plain cause. */
export type FailureJson = ShoalErrorJson | { readonly name: string; readonly message: string };

export function failureJson(error: Error): FailureJson {
  return error instanceof ShoalError ? error.toJSON() : { name: error.name, message: error.message };
}

/** The log line recording `error`. */
export function failureLogLine(error: Error): string {
  return FAILURE_LOG_TAG + JSON.stringify(failureJson(error));
}

/**
 * The error a failed job ended with, from its `failedReason` and its log lines (any order; the
 * newest matching line wins, so pass them newest first).
 */
export function rebuildFailure(failedReason: string, logsNewestFirst: readonly string[]): Error {
  for (const line of logsNewestFirst) {
    const json = parseLine(line);
    if (json && json.message === failedReason) return fromFailureJson(json);
  }
  return new Error(failedReason);
}

export function fromFailureJson(json: FailureJson): Error {
  if ("code" in json) return ShoalError.fromJSON(json);
  const err = new Error(json.message);
  err.name = json.name;
  return err;
}

function parseLine(line: string): FailureJson | undefined {
  if (!line.startsWith(FAILURE_LOG_TAG)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line.slice(FAILURE_LOG_TAG.length));
  } catch {
    // A line written by someone else that merely starts with the tag is not ours to read.
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v["name"] !== "string" || typeof v["message"] !== "string") return undefined;
  if (v["code"] === undefined) return { name: v["name"], message: v["message"] };
  if (typeof v["code"] !== "string" || typeof v["retryable"] !== "boolean") return undefined;
  const context = typeof v["context"] === "object" && v["context"] !== null ? v["context"] : {};
  return { ...(v as unknown as ShoalErrorJson), context: context as ShoalErrorJson["context"] };
}

import { isShoalError } from "@shoal/errors";
import { ConfigError } from "@shoal/service-kit";
import type { S3Connection } from "./s3-connection.js";

/** S3 codes that mean the server is there but will not take these credentials. */
const CREDENTIAL_CODES = new Set(["AccessDenied", "Forbidden", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AccountProblem"]);
/** Codes with which a LIST says the bucket is not there. */
const NO_BUCKET_CODES = new Set(["NoSuchBucket", "NotFound"]);

/**
 * Checks before a job is queued or a download starts, within seconds, that a bucket destination
 * can be used: the endpoint answers S3, the bucket exists and the credentials are accepted (one
 * LIST of at most one key under `prefix`: see `probeBucket`). Each failure is a ConfigError with
 * one line naming the problem, the bucket and the endpoint: all of them are the user's to fix,
 * and none is worth waiting for.
 */
export async function checkBucket(conn: S3Connection, bucket: string, prefix = ""): Promise<void> {
  // Loaded on the first check, not with this module: the S3 client costs a tenth of a second or
  // more to load, which `shoal status`, `cancel` and a refused submit do not need.
  const { probeBucket } = await import("@shoal/store-s3");
  try {
    await probeBucket({ ...conn, bucket, prefix });
  } catch (err) {
    if (!isShoalError(err)) throw err;
    const code = typeof err.context["s3Code"] === "string" ? err.context["s3Code"] : undefined;
    const reason = typeof err.context["reason"] === "string" ? err.context["reason"] : err.message;
    const context = { bucket, endpoint: conn.endpoint, s3Code: code ?? null };
    if (code !== undefined && NO_BUCKET_CODES.has(code)) {
      throw new ConfigError("INVALID_CONFIG", `bucket ${bucket} does not exist on ${conn.endpoint} (create it first: shoal never creates buckets)`, { context, cause: err });
    }
    if (code !== undefined && CREDENTIAL_CODES.has(code)) {
      throw new ConfigError(
        "INVALID_CONFIG",
        `S3 ${conn.endpoint} refused the credentials for bucket ${bucket}: ${reason} (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION)`,
        { context, cause: err },
      );
    }
    if (err.retryable) {
      // Network errors and timeouts, after the probe's one retry.
      throw new ConfigError("INVALID_CONFIG", `S3 endpoint ${conn.endpoint} is unreachable: ${reason} (check --s3 or SHOAL_S3_ENDPOINT)`, { context, cause: err });
    }
    throw new ConfigError("INVALID_CONFIG", `S3 endpoint ${conn.endpoint} failed on bucket ${bucket}: ${reason}`, { context, cause: err });
  }
}

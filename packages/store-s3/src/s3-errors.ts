import { S3Error } from "minio";
import { StorageError } from "@shoal/coordination";
import { RequestTimeoutError, TransientStatusError } from "./s3-transport.js";

/**
 * S3 error codes that doing the same request again cannot fix, each with what it means for an
 * operator. The store fails the job with them (retryable: false) instead of retrying forever.
 */
const PERMANENT_REASONS: Readonly<Record<string, string>> = {
  NoSuchBucket: "the bucket does not exist",
  AccessDenied: "access denied: the credentials may not write to this bucket",
  AllAccessDisabled: "all access to this bucket is disabled",
  InvalidAccessKeyId: "the access key is unknown to the server",
  SignatureDoesNotMatch: "the secret key does not match the access key, or the region is wrong",
  InvalidBucketName: "the bucket name is not valid",
  AccountProblem: "the account has a problem that blocks the request",
  ExpiredToken: "the session token has expired",
  InvalidToken: "the session token is not valid",
  KeyTooLongError: "the object key is longer than 1024 bytes",
  EntityTooLarge: "the upload is larger than the server allows",
  QuotaExceeded: "the account's quota is exhausted",
};

/**
 * S3 codes that arrive with a 4xx status but are worth another attempt: throttling, a body
 * damaged on the way (BadDigest, MinIO's XAmzContentSHA256Mismatch) and conflicting operations.
 * Any other 4xx code is a request the server will never accept, so it is not retried.
 */
const TRANSIENT_CODES = new Set(["InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "BadDigest", "XAmzContentSHA256Mismatch", "OperationAborted"]);

/** Node's socket errors: the server went away, restarted, or the network dropped the connection. */
const NETWORK_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND", "ECONNABORTED", "EADDRNOTAVAIL"]);

export interface S3Failure {
  readonly retryable: boolean;
  /** The S3 error code (`NoSuchBucket`), or the socket errno, when there is one. */
  readonly code: string | null;
  readonly status: number | null;
  /** One line for the error message. */
  readonly reason: string;
}

/** Sorts a failed request into retryable or not, without reading message text. */
export function classifyS3Failure(err: unknown): S3Failure {
  if (err instanceof TransientStatusError) {
    return { retryable: true, code: err.s3Code ?? null, status: err.status, reason: err.message };
  }
  if (err instanceof RequestTimeoutError) return { retryable: true, code: null, status: null, reason: err.message };
  if (err instanceof S3Error) {
    const code = err.code ?? "";
    const known = PERMANENT_REASONS[code];
    if (known !== undefined) return { retryable: false, code, status: null, reason: `${code}: ${known}` };
    return { retryable: TRANSIENT_CODES.has(code), code: code || null, status: null, reason: `${code || "S3 error"}: ${err.message}` };
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno === "string" && NETWORK_ERRNOS.has(errno)) {
    return { retryable: true, code: errno, status: null, reason: `${errno}: ${(err as Error).message}` };
  }
  // Anything else is a client-side fault (minio's argument checks, a bug): the same call fails again.
  return { retryable: false, code: null, status: null, reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}

/** The StorageError for a request that failed for good, naming the operation, object and reason on one line. */
export function s3StorageError(op: string, bucket: string, key: string, failure: S3Failure, attempts: number, cause: unknown): StorageError {
  const where = `s3://${bucket}/${key}`;
  const tries = attempts > 1 ? ` (${attempts} attempts)` : "";
  const message = `s3.${op} failed on ${where}: ${failure.reason}${tries}`.replace(/\s+/g, " ").trim();
  return new StorageError("IO", message, {
    context: { op: `s3.${op}`, bucket, key, s3Code: failure.code, status: failure.status, attempts, reason: failure.reason },
    retryable: failure.retryable,
    cause,
  });
}

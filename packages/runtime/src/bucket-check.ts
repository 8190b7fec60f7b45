import { Client } from "minio";
import { ConfigError } from "@shoal/service-kit";
import type { S3Connection } from "./s3-connection.js";

/** How long the check may take before the endpoint counts as unreachable. */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * Asks the S3 server whether `bucket` exists, once and quickly, so bad input is named before a
 * job is queued or a download starts: a missing bucket, refused credentials and an endpoint that
 * does not answer each throw a one-line ConfigError.
 */
export async function checkBucket(conn: S3Connection, bucket: string): Promise<void> {
  const url = new URL(conn.endpoint);
  const client = new Client({
    endPoint: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    useSSL: url.protocol === "https:",
    accessKey: conn.accessKey,
    secretKey: conn.secretKey,
    region: conn.region,
    pathStyle: true,
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
  let exists: boolean;
  try {
    exists = await Promise.race([client.bucketExists(bucket), timeout]);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const code = e.code ?? "";
    if (code === "NoSuchBucket" || code === "NotFound") exists = false;
    else if (["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden"].includes(code)) {
      throw new ConfigError("INVALID_CONFIG", `S3 ${conn.endpoint} refused the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): ${code}`);
    } else {
      throw new ConfigError("INVALID_CONFIG", `S3 endpoint ${conn.endpoint} is unreachable: ${code ? `${code}: ` : ""}${e.message ?? String(err)}`);
    }
  } finally {
    clearTimeout(timer);
  }
  if (!exists) throw new ConfigError("INVALID_CONFIG", `bucket ${bucket} does not exist on ${conn.endpoint}`);
}

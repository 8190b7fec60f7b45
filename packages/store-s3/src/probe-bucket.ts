import { parseS3StoreConfig, type S3StoreConfigInput } from "./config.js";
import { S3Requests } from "./s3-requests.js";
import { S3Counters } from "./s3-stats.js";

/**
 * One retry, not the store's eight: the probe answers "is this endpoint, bucket and key pair
 * usable at all", and a user who mistyped a host should hear so in seconds, not after the 18 to
 * 36 s of back-off that rides out a server restart mid-download.
 */
const PROBE_RETRIES = 1;
const PROBE_RETRY_BASE_MS = 200;
/**
 * S3 answers a one-key LIST in milliseconds on a LAN and well under a second across regions; an
 * endpoint silent for 3 s (a firewalled port, a black-holed address) is not one to wait for.
 */
const PROBE_TIMEOUT_MS = 3000;

/**
 * Checks before any work that the S3 endpoint answers, the bucket exists and the credentials may
 * list it: one ListObjectsV2 of at most one key under the prefix (a LIST rather than a HEAD
 * because its error document names the problem, NoSuchBucket against InvalidAccessKeyId or
 * SignatureDoesNotMatch, where a HEAD only has a status). Fails within about 6.5 s at worst.
 * Throws the store's StorageError IO, with `s3Code` in its context (`NoSuchBucket`,
 * `AccessDenied`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`, or a socket errno such as
 * `ECONNREFUSED`, `ENOTFOUND`; null for a timeout or an answer that is not S3).
 */
export async function probeBucket(config: S3StoreConfigInput): Promise<void> {
  const parsed = parseS3StoreConfig({
    ...config,
    retries: PROBE_RETRIES,
    retryBaseMs: PROBE_RETRY_BASE_MS,
    retryMaxMs: PROBE_RETRY_BASE_MS,
    requestTimeoutMs: PROBE_TIMEOUT_MS,
  });
  const s3 = new S3Requests(parsed, new S3Counters());
  try {
    await s3.probe(parsed.prefix === "" ? "" : `${parsed.prefix}/`);
  } finally {
    s3.destroy();
  }
}

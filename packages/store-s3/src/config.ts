import { z } from "zod";
import { envNumber, loadConfig } from "@shoal/service-kit";

/**
 * The S3 store's settings. The package never reads the environment: the CLI and services map
 * `SHOAL_S3_*` (and `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`) onto these keys.
 */
export const s3StoreConfigSchema = z.object({
  /**
   * Where the S3 API answers: `http(s)://host[:port]`, no path. Requests are path-style
   * (`/bucket/key`), which MinIO, Swift and AWS all accept and which needs no DNS per bucket.
   */
  endpoint: z
    .string()
    .url()
    .refine((s) => /^https?:$/.test(new URL(s).protocol) && new URL(s).pathname === "/" && !new URL(s).search, {
      message: "must be http(s)://host[:port] with no path or query",
    }),
  /** Signing region; us-east-1 is what MinIO and Swift's s3api expect unless configured otherwise. */
  region: z.string().min(1).default("us-east-1"),
  accessKey: z.string().min(1),
  secretKey: z.string().min(1),
  /** The bucket must exist; the store never creates buckets (that is an operator's decision). */
  bucket: z.string().min(3).max(63),
  /**
   * Key prefix of every object: files land at `<prefix>/<torrent name>[/<path>]`. Leading and
   * trailing slashes are ignored; empty puts torrents at the bucket's top.
   */
  prefix: z
    .string()
    .default("")
    .transform((p) => p.replace(/^\/+|\/+$/g, "")),
  /**
   * Wanted part size of multipart uploads. 16 MiB: a writer holds one buffer of this size per
   * part being filled, so memory grows with it; below it, requests per GiB grow (64 parts per GiB
   * here, a few cents per TiB on AWS, and about one Swift PUT of 0.1 s each on loopback). It is
   * also a whole number of the common piece sizes (256 KiB to 16 MiB), so parts hold whole
   * pieces. S3 allows 5 MiB to 5 GiB; huge files get larger parts to stay within 10,000.
   */
  partSizeMiB: envNumber().int().min(5).max(5120).default(16),
  /**
   * Files below this size are one PUT instead of a multipart upload. 5 MiB is S3's smallest
   * part, so no smaller file could be cut into parts anyway; raising it trades a little memory
   * for two fewer requests per file.
   */
  smallObjectMiB: envNumber().int().min(5).max(5120).default(5),
  /**
   * Uploads (parts and small objects) in flight at once, per store; reads use as many GETs.
   * Each upload holds its buffer until acknowledged: 4 parts of 16 MiB are several times the
   * bandwidth-delay product of a 1 Gbit/s link at 100 ms (12.5 MB), so uploads seldom wait on
   * latency, and bound that memory to 64 MiB.
   */
  maxConcurrentUploads: envNumber().int().min(1).max(64).default(4),
  /**
   * Bytes of unit buffers that no piece has filled yet, past which a unit's first piece starts
   * it piece by piece instead (its buffer is made when its upload starts). A unit's buffer is its
   * full size from its first piece on, so a writer holding a piece or two of each of many units
   * (small files of small pieces arriving out of order) held many times the bytes it had
   * received; past this, memory follows the bytes received. Parts that claim runs fill in turn
   * stay well below 64 MiB; the pieces of units started piece by piece are copied once more.
   */
  fillBufferMiB: envNumber().int().min(0).max(65_536).default(64),
  /**
   * Attempts after the first for a request that failed on the network, timed out or got a 5xx or
   * 429 answer. With `retryBaseMs` 250 and `retryMaxMs` 10 s, 8 retries wait 18 to 36 s in all:
   * long enough for a server restart or a load balancer fail-over, short enough that a dead
   * endpoint surfaces as a (retryable) error the bus redelivers.
   */
  retries: envNumber().int().min(0).max(30).default(8),
  /** First back-off; each further retry doubles it (with jitter) up to `retryMaxMs`. */
  retryBaseMs: envNumber().int().min(1).max(60_000).default(250),
  retryMaxMs: envNumber().int().min(1).max(300_000).default(10_000),
  /**
   * A request whose socket is idle this long is abandoned and retried. A 16 MiB part at 1 MB/s
   * still moves data every moment, so only a stalled connection trips it.
   */
  requestTimeoutMs: envNumber().int().min(100).max(600_000).default(60_000),
  /**
   * How the server checks every uploaded body (PUT, UploadPart): each body carries exactly one
   * digest of its bytes, which AWS, MinIO and Swift's s3api all verify.
   * - `sha256`: the SigV4 signature covers the body's SHA-256 (`x-amz-content-sha256`), over
   *   http and https alike. The cheapest digest for the writer on CPUs with SHA extensions (0.8
   *   CPU s per GiB here, against 1.9 for MD5), at the price of a second pass over every byte
   *   on the server (about 1 CPU s per GiB in Swift 2.30, which hashes in Python's hashlib).
   * - `md5`: Content-MD5, with the request signed `UNSIGNED-PAYLOAD`. The server computes the
   *   body's MD5 for its ETag anyway, so checking it costs the server nothing more: the better
   *   choice on CPUs without SHA extensions, where SHA-256 is the slower hash.
   * - `none`: `UNSIGNED-PAYLOAD` and no digest; only TLS or the network guards the bytes.
   * - `auto` (the default) is `sha256`.
   * The newer `x-amz-checksum-*` headers are not offered: Swift 2.30 accepts wrong values
   * without a word, and minio's CompleteMultipartUpload cannot send the per-part checksums AWS
   * then requires. Requests without a body keep minio's own signing either way.
   */
  checksum: z.enum(["auto", "md5", "sha256", "none"]).default("auto"),
  /**
   * How long a listing of a torrent's root answers reads of objects it does not show, before the
   * next read lists again. A recheck of a fresh prefix otherwise sent one GET per piece, each
   * answered NoSuchKey (a thousand per GiB); an object another process finishes is readable here
   * within this long.
   */
  listingFreshMs: envNumber().int().min(0).max(600_000).default(10_000),
});

export type S3StoreConfig = z.infer<typeof s3StoreConfigSchema>;
export type S3StoreConfigInput = z.input<typeof s3StoreConfigSchema>;

/**
 * Validates settings given as values (never from the environment); a ConfigError names each bad
 * key with its `SHOAL_S3_*` variable.
 */
export function parseS3StoreConfig(input: S3StoreConfigInput): S3StoreConfig {
  return loadConfig(s3StoreConfigSchema, { prefix: "s3", overrides: { ...input } });
}

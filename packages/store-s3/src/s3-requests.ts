import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, S3Error } from "minio";
import { StorageError } from "@shoal/coordination";
import type { S3StoreConfig } from "./config.js";
import { classifyS3Failure, s3StorageError } from "./s3-errors.js";
import type { S3Counters, S3Op } from "./s3-stats.js";
import { RequestTimeoutError, s3Transport, type AttemptRecord } from "./s3-transport.js";

/** Codes with which S3 says an object (or the asked range of it) is not there. */
const ABSENT_CODES = new Set(["NoSuchKey", "NotFound", "InvalidRange"]);
/** Codes with which S3 says a multipart upload is gone (completed, aborted or expired). */
const NO_UPLOAD_CODES = new Set(["NoSuchUpload", "NoSuchKey"]);
/** Keys per ListObjectsV2 page: S3's maximum, so a torrent of n files costs ceil(n / 1000) lists. */
const LIST_PAGE_KEYS = 1000;

export interface PartETag {
  readonly part: number;
  readonly etag: string;
}

export type UploadOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: "no-such-upload" };

/**
 * The store's S3 calls on one bucket, through minio's low-level API only: PUT (for small and
 * empty objects), CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload, ranged GET, HEAD, ListObjectsV2 and DELETE. Each call is retried with jittered
 * exponential back-off on network errors, timeouts, 5xx and throttling; a permanent error
 * becomes a one-line StorageError with `retryable: false`. Every attempt is counted.
 */
export class S3Requests {
  private readonly client: Client;
  private readonly agent: { destroy(): void };
  private readonly closing = new AbortController();
  /** The attempt each HTTP request belongs to, so the transport can note its status there. */
  private readonly attempts = new AsyncLocalStorage<AttemptRecord>();

  /**
   * Sends the bodies of PUT and UploadPart, signed as the `checksum` setting says: the same
   * connections and credentials as `client`, but its own choice of payload signature.
   */
  private readonly bodies: Client;
  /** The digest each body carries (see the `checksum` setting). */
  private readonly integrity: BodyIntegrity;

  constructor(
    private readonly config: S3StoreConfig,
    private readonly counters: S3Counters,
    private readonly random: () => number = Math.random,
  ) {
    const url = new URL(config.endpoint);
    const useSSL = url.protocol === "https:";
    this.integrity = bodyIntegrity(config.checksum);
    const { transport, agent } = s3Transport(useSSL ? "https:" : "http:", config.requestTimeoutMs, this.attempts);
    this.agent = agent;
    const client = (): Client =>
      new Client({
        endPoint: url.hostname,
        port: url.port === "" ? (useSSL ? 443 : 80) : Number(url.port),
        useSSL,
        accessKey: config.accessKey,
        secretKey: config.secretKey,
        region: config.region,
        pathStyle: true,
        transport,
        transportAgent: agent,
        // The store retries with its own policy; minio's retry loses the status and logs to the console.
        retryOptions: { disableRetry: true },
      });
    // minio signs the payload's SHA-256 over http and `UNSIGNED-PAYLOAD` over https
    // (`enableSHA256`); requests without a body, or with a few hundred bytes of XML, keep that.
    this.client = client();
    // Bodies carry one digest, not two: with Content-MD5 (or none) the payload is unsigned
    // (minio hashed it over http as well), and with `sha256` it is signed over https too.
    this.bodies = client();
    this.bodies.enableSHA256 = this.integrity === "sha256";
  }

  get bucket(): string {
    return this.config.bucket;
  }

  /** One PUT of a whole object (small files, empty files). */
  async putObject(key: string, body: Buffer, headers: Record<string, string>): Promise<void> {
    const all = { ...headers, ...this.checksumHeaders(body) };
    await this.call("putObject", key, async () => {
      this.counters.bytesWritten += body.length;
      await drain(await this.bodies.makeRequestAsync({ method: "PUT", bucketName: this.bucket, objectName: key, headers: all }, body, [200]));
    });
  }

  async createMultipartUpload(key: string, headers: Record<string, string>): Promise<string> {
    return this.call("createMultipartUpload", key, () => this.client.initiateNewMultipartUpload(this.bucket, key, headers));
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<UploadOutcome<string>> {
    const headers = this.checksumHeaders(body);
    return this.call("uploadPart", key, async () => {
      this.counters.bytesWritten += body.length;
      try {
        const res = await this.bodies.uploadPart({ bucketName: this.bucket, objectName: key, uploadID: uploadId, partNumber, headers }, body);
        return { ok: true, value: res.etag };
      } catch (err) {
        if (err instanceof S3Error && NO_UPLOAD_CODES.has(err.code ?? "")) return { ok: false, reason: "no-such-upload" };
        throw err;
      }
    });
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: readonly PartETag[]): Promise<UploadOutcome<void>> {
    return this.call("completeMultipartUpload", key, async () => {
      try {
        await this.client.completeMultipartUpload(this.bucket, key, uploadId, [...parts]);
        return { ok: true, value: undefined };
      } catch (err) {
        if (err instanceof S3Error && NO_UPLOAD_CODES.has(err.code ?? "")) return { ok: false, reason: "no-such-upload" };
        throw err;
      }
    });
  }

  /** Aborts an unfinished upload; one that is already gone counts as aborted. */
  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await this.call("abortMultipartUpload", key, async () => {
      try {
        await this.client.abortMultipartUpload(this.bucket, key, uploadId);
      } catch (err) {
        if (!(err instanceof S3Error && NO_UPLOAD_CODES.has(err.code ?? ""))) throw err;
      }
    });
  }

  /**
   * `length` bytes of the object from `offset` with the object's whole size, or undefined when
   * the object does not exist or is shorter than the range.
   */
  async getRange(key: string, offset: number, length: number): Promise<{ data: Buffer; objectSize: number } | undefined> {
    return this.call("getObject", key, async () => {
      let res: Readable;
      try {
        res = await this.client.getPartialObject(this.bucket, key, offset, length);
      } catch (err) {
        if (err instanceof S3Error && ABSENT_CODES.has(err.code ?? "")) return undefined;
        throw err;
      }
      const headers = (res as IncomingMessage).headers;
      const total = /\/(\d+)\s*$/.exec(headers["content-range"] ?? "")?.[1] ?? headers["content-length"];
      // Every byte is written below before the buffer is returned (a short answer returns undefined).
      const data = Buffer.allocUnsafeSlow(length);
      let got = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        this.counters.bytesRead += chunk.length;
        if (got + chunk.length > length) throw new StorageError("IO", `s3.getObject of s3://${this.bucket}/${key} returned more than the ${length} bytes asked`, { retryable: false });
        chunk.copy(data, got);
        got += chunk.length;
      }
      return got === length ? { data, objectSize: Number(total) } : undefined;
    });
  }

  /** The object's size and user metadata, or undefined when it does not exist. */
  async headObject(key: string): Promise<{ size: number; metadata: Record<string, string> } | undefined> {
    return this.call("headObject", key, async () => {
      try {
        const st = await this.client.statObject(this.bucket, key);
        return { size: st.size, metadata: st.metaData as Record<string, string> };
      } catch (err) {
        if (err instanceof S3Error && ABSENT_CODES.has(err.code ?? "")) return undefined;
        throw err;
      }
    });
  }

  /** Deletes an object; one that does not exist counts as deleted (S3 answers 204 either way). */
  async deleteObject(key: string): Promise<void> {
    await this.call("deleteObject", key, () => this.client.removeObject(this.bucket, key));
  }

  /** Every object whose key starts with `prefix`, with its size, across as many pages as it takes. */
  async listObjects(prefix: string): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = [];
    let token = "";
    do {
      const page = await this.call("listObjects", prefix, () => this.client.listObjectsV2Query(this.bucket, prefix, token, "", LIST_PAGE_KEYS, ""));
      for (const o of page.objects) if (o.name !== undefined) out.push({ key: o.name, size: o.size });
      token = page.isTruncated ? page.nextContinuationToken : "";
    } while (token !== "");
    return out;
  }

  /**
   * One ListObjectsV2 of at most one key under `prefix`: the cheapest request that needs the
   * bucket to exist and the credentials to be accepted.
   */
  async probe(prefix: string): Promise<void> {
    await this.call("listObjects", prefix, () => this.client.listObjectsV2Query(this.bucket, prefix, "", "", 1, ""));
  }

  /** Ends back-off waits at once; a request that fails from now on is not tried again. */
  stopRetrying(): void {
    this.closing.abort();
  }

  /** Closes the kept-alive connections; call once no request is in flight. */
  destroy(): void {
    this.closing.abort();
    this.agent.destroy();
  }

  private checksumHeaders(body: Buffer): Record<string, string> {
    return this.integrity === "md5" ? { "Content-MD5": createHash("md5").update(body).digest("base64") } : {};
  }

  /** Runs one request with the retry policy; `fn` makes a single attempt. */
  private async call<T>(op: S3Op, key: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.closing.signal.aborted && attempt > 1) {
        throw new StorageError("IO", `s3.${op} on s3://${this.bucket}/${key}: the store closed while retrying`, { context: { op: `s3.${op}`, key }, retryable: true });
      }
      this.counters.requests[op]++;
      const record: AttemptRecord = {};
      const startedAt = performance.now();
      try {
        const value = await this.attempts.run(record, fn);
        this.counters.attempted(op, statusOf(record, undefined), (performance.now() - startedAt) / 1000);
        return value;
      } catch (err) {
        this.counters.attempted(op, statusOf(record, err), (performance.now() - startedAt) / 1000);
        if (err instanceof StorageError) throw err;
        const failure = classifyS3Failure(err);
        if (!failure.retryable || attempt > this.config.retries || this.closing.signal.aborted) throw s3StorageError(op, this.bucket, key, failure, attempt, err);
        this.counters.retries++;
        await this.backOff(attempt);
      }
    }
  }

  /** Exponential back-off with "equal jitter": half fixed, half random, so retries of many writers spread out. */
  private async backOff(attempt: number): Promise<void> {
    const ceiling = Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** (attempt - 1));
    try {
      await sleep(ceiling * (0.5 + this.random() / 2), undefined, { signal: this.closing.signal });
    } catch {
      // Closed while waiting: the next loop turn reports it.
    }
  }
}

/**
 * The `S3Status` of an attempt: `timeout` when the idle timeout cut it (even mid-body, after a
 * status line), else the HTTP status of its answer, else `network`: no answer came (refused,
 * reset), or minio failed before sending. A success always has a status; `ok` would only show a
 * request the transport did not see, which the store's tests rule out.
 */
function statusOf(record: AttemptRecord, err: unknown): string {
  if (err instanceof RequestTimeoutError || (err instanceof Error && err.cause instanceof RequestTimeoutError)) return "timeout";
  if (record.status !== undefined) return String(record.status);
  return err === undefined ? "ok" : "network";
}

/** The one digest a PUT or UploadPart body carries to the server. */
export type BodyIntegrity = "md5" | "sha256" | "none";

/** What the `checksum` setting means for bodies; `auto` is the signed SHA-256 (see the setting). */
export function bodyIntegrity(checksum: S3StoreConfig["checksum"]): BodyIntegrity {
  return checksum === "auto" ? "sha256" : checksum;
}

/** Reads the answer's body (empty for a PUT) only to free the connection for the next request. */
async function drain(res: IncomingMessage): Promise<void> {
  res.resume();
  await finished(res);
}

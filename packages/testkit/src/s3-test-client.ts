import { request, type IncomingHttpHeaders } from "node:http";
import { encodeQuery, encodeS3Path, signV4 } from "./s3-sigv4.js";
import type { SigV4Credentials } from "./s3-sigv4.js";
import { TestkitError } from "./testkit-error.js";

export interface S3Endpoint extends SigV4Credentials {
  /** `http://127.0.0.1:<port>`; requests are path-style (`/bucket/key`). */
  readonly endpoint: string;
}

export interface S3ObjectSummary {
  readonly key: string;
  readonly size: number;
  /** Without quotes; a multipart object's ends in `-<parts>`. */
  readonly etag: string;
  readonly lastModified: string;
}

export interface S3TestClientOptions {
  /** Keys per ListObjectsV2 page; the server's default (1000) unless set. */
  readonly maxKeys?: number;
}

/** An unfinished multipart upload, as ListMultipartUploads names it. */
export interface S3UploadSummary {
  readonly key: string;
  readonly uploadId: string;
}

/** What HEAD tells about an object. */
export interface S3ObjectHead {
  readonly size: number;
  /** Without quotes. */
  readonly etag: string;
  /** User metadata by name, lowercase and without the `x-amz-meta-` prefix. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** What a test needs to set up a bucket and check what landed in it. */
export interface S3TestClient {
  listBuckets(): Promise<string[]>;
  /** Throws RPC_FAILED (context `s3Code` BucketAlreadyExists/...) if the server refuses. */
  createBucket(name: string): Promise<void>;
  /** Every object under `prefix`, in key order, across as many pages as the server returns. */
  listObjects(bucket: string, prefix?: string): Promise<S3ObjectSummary[]>;
  /** The object's bytes; RPC_FAILED with `s3Code` NoSuchKey when it does not exist. */
  getObject(bucket: string, key: string): Promise<Buffer>;
  /** Size, ETag and user metadata of an object; RPC_FAILED with `status` 404 when it does not exist. */
  headObject(bucket: string, key: string): Promise<S3ObjectHead>;
  /** Every unfinished multipart upload under `prefix`, across as many pages as the server returns. */
  listMultipartUploads(bucket: string, prefix?: string): Promise<S3UploadSummary[]>;
  /** One PUT of a whole object (replacing any object of that key), so a test can lay out or damage a bucket. */
  putObject(bucket: string, key: string, body: Buffer): Promise<void>;
  /** Deletes an object; deleting one that does not exist succeeds, as in S3. */
  deleteObject(bucket: string, key: string): Promise<void>;
}

/** Loopback requests finish in milliseconds; a GET of a large object in a few seconds. */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Objects are read whole into memory. Test payloads are a few MiB; 512 MiB bounds a mistaken
 * read of something huge while leaving room for large e2e payloads.
 */
const MAX_OBJECT_BYTES = 512 * 1024 * 1024;

/**
 * A small S3 client of the testkit's own (SigV4 over node:http, path-style), independent of the
 * S3 library the project uses, so checks of bucket contents do not share its bugs.
 */
export function s3TestClient(s3: S3Endpoint, opts: S3TestClientOptions = {}): S3TestClient {
  return {
    async listBuckets() {
      const res = await s3Call(s3, "s3.listBuckets", "GET", "/", {});
      return [...xmlElements(res.body.toString("utf8"), "Bucket")].map((b) => xmlText(b, "Name") ?? "");
    },
    async createBucket(name) {
      await s3Call(s3, "s3.createBucket", "PUT", encodeS3Path(name), {});
    },
    async listObjects(bucket, prefix = "") {
      const out: S3ObjectSummary[] = [];
      let token: string | undefined;
      do {
        const query: Record<string, string> = { "list-type": "2", prefix, "encoding-type": "url" };
        if (opts.maxKeys !== undefined) query["max-keys"] = String(opts.maxKeys);
        if (token !== undefined) query["continuation-token"] = token;
        const xml = (await s3Call(s3, "s3.listObjects", "GET", encodeS3Path(bucket), query)).body.toString("utf8");
        for (const c of xmlElements(xml, "Contents")) {
          out.push({
            key: decodeURIComponent(xmlText(c, "Key") ?? ""),
            size: Number(xmlText(c, "Size")),
            etag: (xmlText(c, "ETag") ?? "").replace(/^"|"$/g, ""),
            lastModified: xmlText(c, "LastModified") ?? "",
          });
        }
        token = xmlText(xml, "IsTruncated") === "true" ? xmlText(xml, "NextContinuationToken") : undefined;
      } while (token !== undefined);
      return out;
    },
    getObject: async (bucket, key) => (await s3Call(s3, "s3.getObject", "GET", encodeS3Path(bucket, key), {})).body,
    async headObject(bucket, key) {
      const { headers } = await s3Call(s3, "s3.headObject", "HEAD", encodeS3Path(bucket, key), {});
      const metadata: Record<string, string> = {};
      for (const [name, value] of Object.entries(headers)) {
        if (name.startsWith("x-amz-meta-") && typeof value === "string") metadata[name.slice("x-amz-meta-".length)] = value;
      }
      return { size: Number(headers["content-length"]), etag: String(headers.etag ?? "").replace(/^"|"$/g, ""), metadata };
    },
    async listMultipartUploads(bucket, prefix = "") {
      const out: S3UploadSummary[] = [];
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        // No `delimiter` parameter at all: Swift's s3api answers an empty one with a bare
        // common prefix instead of the uploads.
        const query: Record<string, string> = { uploads: "", prefix };
        if (keyMarker !== undefined) query["key-marker"] = keyMarker;
        if (uploadIdMarker !== undefined) query["upload-id-marker"] = uploadIdMarker;
        const xml = (await s3Call(s3, "s3.listMultipartUploads", "GET", encodeS3Path(bucket), query)).body.toString("utf8");
        for (const u of xmlElements(xml, "Upload")) out.push({ key: xmlText(u, "Key") ?? "", uploadId: xmlText(u, "UploadId") ?? "" });
        const truncated = xmlText(xml, "IsTruncated") === "true";
        keyMarker = truncated ? xmlText(xml, "NextKeyMarker") : undefined;
        uploadIdMarker = truncated ? xmlText(xml, "NextUploadIdMarker") : undefined;
      } while (keyMarker !== undefined);
      return out;
    },
    async putObject(bucket, key, body) {
      await s3Call(s3, "s3.putObject", "PUT", encodeS3Path(bucket, key), {}, body);
    },
    async deleteObject(bucket, key) {
      await s3Call(s3, "s3.deleteObject", "DELETE", encodeS3Path(bucket, key), {});
    },
  };
}

/** One signed request; resolves with the body and headers of a 2xx answer, else throws RPC_FAILED. */
function s3Call(
  s3: S3Endpoint,
  op: string,
  method: string,
  path: string,
  query: Record<string, string>,
  body?: Buffer,
): Promise<{ body: Buffer; headers: IncomingHttpHeaders }> {
  const base = new URL(s3.endpoint);
  const qs = encodeQuery(query);
  const url = `${s3.endpoint}${path}${qs === "" ? "" : `?${qs}`}`;
  const headers = signV4(s3, { method, host: base.host, path, query, ...(body ? { body, headers: { "content-length": String(body.length) } } : {}) });
  const fail = (message: string, extra: Record<string, string | number> = {}, cause?: unknown): TestkitError =>
    new TestkitError("RPC_FAILED", `${op} ${method} ${url}: ${message}`, {
      context: { op, url, ...extra },
      retryable: true,
      ...(cause === undefined ? {} : { cause }),
    });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, method, path: `${path}${qs === "" ? "" : `?${qs}`}`, headers, agent: false, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_OBJECT_BYTES) req.destroy(fail(`answer over ${MAX_OBJECT_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on("error", (err) => reject(fail(err.message, {}, err)));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve({ body, headers: res.headers });
          const xml = body.toString("utf8");
          const s3Code = xmlText(xml, "Code") ?? "";
          const detail = xmlText(xml, "Message") ?? xml.slice(0, 200);
          reject(fail(`${status} ${s3Code} ${detail}`.trim(), { status, s3Code }));
        });
      },
    );
    req.on("timeout", () => req.destroy(fail(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", (err) => reject(err instanceof TestkitError ? err : fail(err.message, {}, err)));
    req.end(body);
  });
}

/** The inner text of each `<name>...</name>` element (S3 answers are flat enough for this). */
function* xmlElements(xml: string, name: string): Generator<string> {
  const re = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, "g");
  for (const m of xml.matchAll(re)) yield m[1] ?? "";
}

/** The decoded text of the first `<name>` element, or undefined. */
function xmlText(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1] === undefined ? undefined : decodeXmlEntities(m[1]);
}

function decodeXmlEntities(s: string): string {
  const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e.startsWith("#x") ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith("#") ? String.fromCodePoint(Number(e.slice(1))) : (named[e] ?? ""),
  );
}

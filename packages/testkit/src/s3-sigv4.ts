import { createHash, createHmac } from "node:crypto";

export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

export interface SigV4Request {
  readonly method: string;
  /** Host header value exactly as sent ("127.0.0.1:9000"). */
  readonly host: string;
  /** The path as sent on the wire, already percent-encoded (see `encodeS3Path`). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Extra headers to send and sign (content-type, x-amz-copy-source, ...). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  readonly now?: Date;
}

const EMPTY_SHA256 = sha256Hex(Buffer.alloc(0));

/**
 * The headers that sign an S3 request with AWS Signature Version 4 (header form, service "s3",
 * signed payload). The testkit signs its own requests instead of using the S3 client library
 * under test, so a bucket listing in a test is an independent view of the server.
 * Reference: AWS "Signature Version 4 signing process", steps 1-4.
 */
export function signV4(creds: SigV4Credentials, req: SigV4Request): Record<string, string> {
  const now = req.now ?? new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const payloadHash = req.body === undefined ? EMPTY_SHA256 : sha256Hex(req.body);
  const headers: Record<string, string> = {
    ...lowerCaseKeys(req.headers ?? {}),
    host: req.host,
    "x-amz-content-sha256": payloadHash,
    "x-amz-date": amzDate,
  };
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${String(headers[n]).trim().replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  const canonicalQuery = Object.entries(req.query ?? {})
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? compare(av, bv) : compare(a, b)))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [req.method, req.path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const scope = `${day}/${creds.region}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(Buffer.from(canonicalRequest))].join("\n");
  let key: Buffer = hmac(Buffer.from(`AWS4${creds.secretAccessKey}`), day);
  for (const part of [creds.region, "s3", "aws4_request"]) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** `/bucket/key` with every byte outside RFC 3986's unreserved set percent-encoded, slashes kept. */
export function encodeS3Path(bucket: string, key?: string): string {
  const keyPart = key === undefined ? "" : `/${key.split("/").map(encodeRfc3986).join("/")}`;
  return `/${encodeRfc3986(bucket)}${keyPart}`;
}

/** The query string as sent, encoded the same way as the signature's canonical query. */
export function encodeQuery(query: Readonly<Record<string, string>>): string {
  return Object.entries(query)
    .map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`)
    .join("&");
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Byte order, as SigV4 sorts; localeCompare would not. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lowerCaseKeys(h: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

function sha256Hex(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

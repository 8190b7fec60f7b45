import { AsyncLocalStorage } from "node:async_hooks";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { S3Error } from "minio";
import { afterEach, describe, expect, it } from "vitest";
import { classifyS3Failure, s3StorageError } from "../src/s3-errors.js";
import { RequestTimeoutError, TransientStatusError, s3Transport, type AttemptRecord } from "../src/s3-transport.js";

function s3Error(code: string): S3Error {
  const e = new S3Error(`server said ${code}`);
  e.code = code;
  return e;
}

function sysError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code, syscall: "connect" });
}

describe("classifyS3Failure", () => {
  it("does not retry what the same request cannot get past", () => {
    for (const code of ["NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"]) {
      expect(classifyS3Failure(s3Error(code)), code).toMatchObject({ retryable: false, code });
    }
    // An unknown 4xx code is a request the server will never take.
    expect(classifyS3Failure(s3Error("InvalidArgument"))).toMatchObject({ retryable: false });
    expect(classifyS3Failure(new TypeError("bad argument"))).toMatchObject({ retryable: false });
  });

  it("retries network failures, timeouts, 5xx answers, throttling and damaged bodies", () => {
    for (const errno of ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"]) expect(classifyS3Failure(sysError(errno)), errno).toMatchObject({ retryable: true, code: errno });
    expect(classifyS3Failure(new TransientStatusError(503, "SlowDown", "Please reduce your request rate."))).toMatchObject({ retryable: true, code: "SlowDown", status: 503 });
    expect(classifyS3Failure(new RequestTimeoutError(1000))).toMatchObject({ retryable: true });
    for (const code of ["BadDigest", "InternalError", "RequestTimeout"]) expect(classifyS3Failure(s3Error(code)), code).toMatchObject({ retryable: true });
  });

  it("builds a one-line StorageError that names the operation, the object and the reason", () => {
    const err = s3StorageError("uploadPart", "bkt", "dl/t/a.bin", classifyS3Failure(s3Error("NoSuchBucket")), 1, undefined);
    expect(err.message).toBe("s3.uploadPart failed on s3://bkt/dl/t/a.bin: NoSuchBucket: the bucket does not exist");
    expect(err).toMatchObject({ code: "IO", retryable: false, context: { op: "s3.uploadPart", bucket: "bkt", key: "dl/t/a.bin", s3Code: "NoSuchBucket" } });
    const multi = s3StorageError("putObject", "bkt", "k", classifyS3Failure(new TransientStatusError(500, "InternalError", "We encountered\nan internal error.")), 9, undefined);
    expect(multi.message).toBe("s3.putObject failed on s3://bkt/k: HTTP 500 InternalError: We encountered an internal error. (9 attempts)");
    expect(multi.retryable).toBe(true);
  });
});

describe("s3Transport", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }

  /** One GET through the transport: the answer it hands on, or the error it raises. */
  function get(port: number, timeoutMs: number): Promise<{ status: number } | Error> {
    const { transport, agent } = s3Transport("http:", timeoutMs);
    return new Promise((resolve) => {
      const req = transport.request({ host: "127.0.0.1", port, path: "/b/k", method: "GET", agent }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
      });
      req.on("error", resolve);
      req.end();
    }).finally(() => agent.destroy()) as Promise<{ status: number } | Error>;
  }

  it("turns a 503 answer into a TransientStatusError with the S3 code, reading its body", async () => {
    const port = await serve((_req, res) => {
      res.writeHead(503, { "content-type": "application/xml" });
      res.end("<?xml version='1.0'?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
    });
    const got = await get(port, 5_000);
    expect(got).toBeInstanceOf(TransientStatusError);
    expect(got).toMatchObject({ status: 503, s3Code: "SlowDown", message: "HTTP 503 SlowDown: Please reduce your request rate." });
  });

  it("hands other answers to the caller, 4xx errors included", async () => {
    const port = await serve((_req, res) => {
      res.writeHead(404);
      res.end("<Error><Code>NoSuchKey</Code></Error>");
    });
    expect(await get(port, 5_000)).toEqual({ status: 404 });
  });

  it("notes each answer's status in the attempt it was sent from", async () => {
    const port = await serve((req, res) => {
      res.writeHead(req.url === "/b/missing" ? 404 : 204);
      res.end();
    });
    const attempts = new AsyncLocalStorage<AttemptRecord>();
    const { transport, agent } = s3Transport("http:", 5_000, attempts);
    const send = (path: string) => {
      const record: AttemptRecord = {};
      return attempts.run(record, async () => {
        // As minio does: the request goes out after an await, inside the attempt's context.
        await Promise.resolve();
        await new Promise<void>((resolve, reject) => {
          const req = transport.request({ host: "127.0.0.1", port, path, method: "GET", agent }, (res) => res.resume().on("end", resolve));
          req.on("error", reject);
          req.end();
        });
        return record;
      });
    };
    try {
      const [missing, found] = await Promise.all([send("/b/missing"), send("/b/k")]);
      expect(missing.status).toBe(404);
      expect(found.status).toBe(204);
    } finally {
      agent.destroy();
    }
  });

  it("abandons a request whose connection stays silent", async () => {
    const port = await serve(() => {
      // Never answers.
    });
    const got = await get(port, 150);
    expect(got).toBeInstanceOf(RequestTimeoutError);
  });
});

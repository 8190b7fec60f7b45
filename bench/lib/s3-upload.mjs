#!/usr/bin/env node
// The reference uploader of the cluster benchmark: puts every file below a directory into a
// bucket, as a script that uploads a finished download would. It is meant to be a fair
// opponent for shoal's storage writer, so it uploads the way the writer does: multipart with
// parts of --part bytes (16 MiB), --parallel parts in flight at once across all files (4),
// files smaller than 5 MiB or than one part in a single PUT, one digest on every body as the
// store's `checksum` setting of the same name puts it (--checksum: `sha256` signed into SigV4,
// the writer's default; `md5` Content-MD5 with an unsigned payload; `both`, what this
// uploader sent before: Content-MD5 plus minio's signed SHA-256 over http), and minio's
// low-level calls over a keep-alive agent. Each part is read from the file into one of
// --parallel reused buffers just before it is sent.
//
//   node bench/lib/s3-upload.mjs --endpoint http://127.0.0.1:P --bucket B --prefix P --dir D [--checksum sha256]
//
// Credentials and region come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION.
// Prints one JSON line: { files, bytes, requests: { op: n }, seconds }. Exit 1 on any failure.
import { createHash } from "node:crypto";
import { open, readdir } from "node:fs/promises";
import { Agent } from "node:http";
import { join, relative, sep } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "minio";

/** S3 refuses parts smaller than this (except the last), so smaller files are one PUT. */
const MIN_PART_BYTES = 5 * 1024 * 1024;

const { values: o } = parseArgs({
  options: {
    endpoint: { type: "string" },
    bucket: { type: "string" },
    prefix: { type: "string", default: "" },
    dir: { type: "string" },
    part: { type: "string", default: String(16 * 1024 * 1024) },
    parallel: { type: "string", default: "4" },
    checksum: { type: "string", default: "sha256" },
  },
});
if (!["sha256", "md5", "both"].includes(o.checksum)) {
  process.stderr.write(`--checksum must be sha256, md5 or both, got "${o.checksum}"\n`);
  process.exit(2);
}
if (!o.endpoint || !o.bucket || !o.dir) {
  process.stderr.write("usage: s3-upload.mjs --endpoint URL --bucket B [--prefix P] --dir D [--part BYTES] [--parallel N]\n");
  process.exit(2);
}
const partBytes = Number(o.part);
const parallel = Number(o.parallel);
const prefix = o.prefix.replace(/^\/+|\/+$/g, "");

const url = new URL(o.endpoint);
const client = new Client({
  endPoint: url.hostname,
  port: Number(url.port || 80),
  useSSL: url.protocol === "https:",
  accessKey: process.env.AWS_ACCESS_KEY_ID ?? "",
  secretKey: process.env.AWS_SECRET_ACCESS_KEY ?? "",
  region: process.env.AWS_REGION || "us-east-1",
  pathStyle: true,
  transportAgent: new Agent({ keepAlive: true }),
});
// minio signs the payload's SHA-256 over http unless told not to (a public field of its client).
client.enableSHA256 = o.checksum === "sha256" || (o.checksum === "both" && url.protocol === "http:");
const withMd5 = o.checksum !== "sha256";

const requests = { putObject: 0, createMultipartUpload: 0, uploadPart: 0, completeMultipartUpload: 0 };
const md5 = (body) => (withMd5 ? { "Content-MD5": createHash("md5").update(body).digest("base64") } : {});

/** Every regular file below `dir`, sorted, as { path, size }. */
async function listFiles(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath ?? e.path, e.name));
  }
  out.sort();
  const files = [];
  for (const path of out) {
    const fh = await open(path);
    files.push({ path, size: (await fh.stat()).size });
    await fh.close();
  }
  return files;
}

/**
 * The work as a list of tasks, in file order: one PUT per small file, one task per part of a
 * large one. A large file's upload is created by the first of its parts to run and completed by
 * the last to finish.
 */
function planTasks(files) {
  const tasks = [];
  for (const f of files) {
    const key = [prefix, relative(o.dir, f.path).split(sep).join("/")].filter((s) => s !== "").join("/");
    if (f.size < MIN_PART_BYTES || f.size <= partBytes) {
      tasks.push({ kind: "put", file: f, key });
      continue;
    }
    const parts = Math.ceil(f.size / partBytes);
    const upload = { key, file: f, id: undefined, creating: undefined, etags: new Array(parts), left: parts, handle: undefined };
    for (let n = 1; n <= parts; n++) {
      const offset = (n - 1) * partBytes;
      tasks.push({ kind: "part", upload, part: n, offset, length: Math.min(partBytes, f.size - offset) });
    }
  }
  return tasks;
}

async function readInto(buf, path, handleOwner, offset, length) {
  const fh = handleOwner?.handle ?? (await open(path));
  try {
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) throw new Error(`${path} ended at ${offset + got}, expected ${offset + length} bytes`);
      got += bytesRead;
    }
    return buf.subarray(0, length);
  } finally {
    if (handleOwner === undefined) await fh.close();
  }
}

async function runTask(t, buf) {
  if (t.kind === "put") {
    const body = await readInto(buf.length >= t.file.size ? buf : Buffer.allocUnsafe(t.file.size), t.file.path, undefined, 0, t.file.size);
    requests.putObject++;
    const res = await client.makeRequestAsync(
      { method: "PUT", bucketName: o.bucket, objectName: t.key, headers: { "Content-Length": body.length, ...md5(body) } },
      body,
      [200],
    );
    res.resume();
    await new Promise((resolve, reject) => res.on("end", resolve).on("error", reject));
    return;
  }
  const u = t.upload;
  if (u.id === undefined) {
    u.creating ??= (async () => {
      requests.createMultipartUpload++;
      u.id = await client.initiateNewMultipartUpload(o.bucket, u.key, {});
      u.handle = await open(u.file.path);
    })();
    await u.creating;
  }
  const body = await readInto(buf, u.file.path, u, t.offset, t.length);
  requests.uploadPart++;
  const res = await client.uploadPart(
    { bucketName: o.bucket, objectName: u.key, uploadID: u.id, partNumber: t.part, headers: { "Content-Length": body.length, ...md5(body) } },
    body,
  );
  u.etags[t.part - 1] = { part: t.part, etag: res.etag };
  if (--u.left === 0) {
    await u.handle.close();
    requests.completeMultipartUpload++;
    await client.completeMultipartUpload(o.bucket, u.key, u.id, u.etags);
  }
}

const t0 = performance.now();
const files = await listFiles(o.dir);
const tasks = planTasks(files);
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(parallel, Math.max(1, tasks.length)) }, async () => {
    const buf = Buffer.allocUnsafe(partBytes);
    while (next < tasks.length) await runTask(tasks[next++], buf);
  }),
);
process.stdout.write(
  `${JSON.stringify({
    files: files.length,
    bytes: files.reduce((s, f) => s + f.size, 0),
    requests,
    seconds: (performance.now() - t0) / 1000,
  })}\n`,
);

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ShoalError, type ShoalErrorJson } from "../src/index.js";

/*
 * An error serialised in one node process and rebuilt in another, as it happens when a
 * storage-writer's StorageError travels in a NATS message or a job's error in BullMQ.
 *
 * The child runs this package's current TypeScript source, transpiled into a temporary
 * directory, not dist/: a stale build must not make the test pass or fail.
 */

let work = "";
let errorsUrl = "";

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "shoal-errors-"));
  const out = join(work, "errors");
  mkdirSync(out);
  const src = join(import.meta.dirname, "..", "src");
  for (const file of readdirSync(src).filter((f) => f.endsWith(".ts"))) {
    const { outputText } = ts.transpileModule(readFileSync(join(src, file), "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(out, file.replace(/\.ts$/, ".js")), outputText);
  }
  writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module" }));
  errorsUrl = pathToFileURL(join(out, "index.js")).href;
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs an ES module in a fresh node process with `input` on stdin and returns its stdout. */
function runChild(script: string, input = ""): string {
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    input,
    encoding: "utf8",
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`child exited with ${result.status} (${result.signal}): ${result.stderr}`);
  return result.stdout;
}

/**
 * The child side: two package-style subclasses, and a failing write whose real ENOENT error is
 * wrapped twice, the way the storage-writer reports a store failure.
 */
const THROWING_CHILD = (url: string) => `
import { open } from "node:fs/promises";
import { ShoalError } from ${JSON.stringify(url)};
class StorageError extends ShoalError { static name = "StorageError"; }
class JobError extends ShoalError { static name = "JobError"; }
async function writePiece() {
  try {
    await open("/nonexistent-shoal-dir/piece.bin", "r");
  } catch (err) {
    throw new StorageError("IO", "fs.open failed on /nonexistent-shoal-dir/piece.bin", {
      context: JSON.parse('{"op":"fs.open","path":"/nonexistent-shoal-dir/piece.bin","errno":"ENOENT","__proto__":{"polluted":true}}'),
      retryable: true,
      cause: err,
    });
  }
}
try {
  try {
    await writePiece();
  } catch (err) {
    throw new JobError("STORAGE_FAILED", "piece 17 of ab12 cannot be stored", {
      context: { infoHash: "ab12", piece: 17, sizes: [1, 2.5, -3], nested: { ok: null, flag: false }, text: "ü €" },
      cause: err,
    });
  }
} catch (err) {
  if (!(err instanceof JobError)) throw err;
  process.stdout.write(JSON.stringify(err));
}
`;

/** The child rebuilds what arrives on stdin, wraps it as the cause of its own error and sends that back. */
const RELAYING_CHILD = (url: string) => `
import { ShoalError } from ${JSON.stringify(url)};
let text = "";
for await (const chunk of process.stdin) text += chunk;
const received = ShoalError.fromJSON(JSON.parse(text));
const relayed = new ShoalError("RELAYED", "the tracker-poller fails the job", {
  context: { receivedName: received.name, receivedRetryable: received.retryable },
  cause: received,
});
process.stdout.write(JSON.stringify(relayed));
`;

describe("ShoalError crosses a process boundary as JSON", () => {
  it("an error thrown in a child keeps name, code, message, context, retryable and its cause chain", () => {
    const json = JSON.parse(runChild(THROWING_CHILD(errorsUrl))) as unknown;
    const err = ShoalError.fromJSON(json);

    expect(err).toBeInstanceOf(ShoalError);
    expect(err.name).toBe("JobError");
    expect(err.code).toBe("STORAGE_FAILED");
    expect(err.message).toBe("piece 17 of ab12 cannot be stored");
    expect(err.retryable).toBe(false);
    expect(err.context).toEqual({ infoHash: "ab12", piece: 17, sizes: [1, 2.5, -3], nested: { ok: null, flag: false }, text: "ü €" });

    const storage = err.cause as ShoalError;
    expect(storage).toBeInstanceOf(ShoalError);
    expect(storage.name).toBe("StorageError");
    expect(storage.code).toBe("IO");
    expect(storage.retryable).toBe(true);
    expect(storage.context["op"]).toBe("fs.open");
    expect(storage.context["errno"]).toBe("ENOENT");
    // The child's `__proto__` key is data on both sides and never a prototype.
    expect(Object.getOwnPropertyDescriptor(storage.context, "__proto__")?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();

    const errno = storage.cause as Error;
    expect(errno).toBeInstanceOf(Error);
    expect(errno).not.toBeInstanceOf(ShoalError);
    expect(errno.name).toBe("Error");
    expect(errno.message).toContain("ENOENT");
    expect(errno.cause).toBeUndefined();
  });

  it("an error relayed through a child and back keeps every field, including a plain Error cause", () => {
    const original = new ShoalError("OUT_OF_SPACE", "fs.writePiece failed on /data/x: ENOSPC", {
      context: { op: "fs.writePiece", path: "/data/x", errno: "ENOSPC" },
      retryable: false,
      cause: Object.assign(new TypeError("no space left on device"), { code: "ENOSPC" }),
    });
    original.name = "StorageError";

    const back = ShoalError.fromJSON(JSON.parse(runChild(RELAYING_CHILD(errorsUrl), JSON.stringify(original))));

    expect(back.code).toBe("RELAYED");
    expect(back.context).toEqual({ receivedName: "StorageError", receivedRetryable: false });
    const expected: ShoalErrorJson = {
      name: "StorageError",
      code: "OUT_OF_SPACE",
      message: "fs.writePiece failed on /data/x: ENOSPC",
      retryable: false,
      context: { op: "fs.writePiece", path: "/data/x", errno: "ENOSPC" },
      cause: { name: "TypeError", message: "no space left on device" },
    };
    // Two hops: serialised here, rebuilt and re-serialised in the child, rebuilt here.
    expect((back.cause as ShoalError).toJSON()).toEqual(expected);
  });
});

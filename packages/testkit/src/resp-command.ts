import { connect } from "node:net";
import { TestkitError } from "./testkit-error.js";

/** A RESP2 reply: simple and bulk strings as UTF-8 text, integers, nil, and arrays of these. */
export type RespReply = string | number | null | RespReply[];

export interface RespCommandOptions {
  /** Redis on loopback answers in milliseconds; the deadline catches a hung or wrong server. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 2_000;
/** Test fixtures store small values; a bigger reply means the wrong server or a runaway read. */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/**
 * Sends one command to a Redis server over a fresh connection and returns its reply. It speaks
 * RESP2 directly so the testkit can check a server without the client library under test. An
 * error reply (`-ERR ...`, `-LOADING ...`) rejects with RPC_FAILED carrying the server's text.
 */
export function respCommand(url: string, args: readonly (string | Buffer)[], opts: RespCommandOptions = {}): Promise<RespReply> {
  const u = new URL(url);
  const host = u.hostname;
  const port = Number(u.port);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const name = String(args[0] ?? "");
  const fail = (message: string, cause?: unknown): TestkitError =>
    new TestkitError("RPC_FAILED", `redis ${host}:${port} ${name}: ${message}`, {
      context: { op: `redis.${name.toLowerCase()}`, url },
      retryable: true,
      ...(cause === undefined ? {} : { cause }),
    });

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const sock = connect({ host, port });
    sock.setTimeout(timeoutMs, () => sock.destroy(fail(`no reply within ${timeoutMs} ms`)));
    sock.once("error", (err) => reject(err instanceof TestkitError ? err : fail(err.message, err)));
    sock.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > MAX_REPLY_BYTES) {
        sock.destroy(fail(`reply over ${MAX_REPLY_BYTES} bytes`));
        return;
      }
      let parsed: { value: RespReply | RespError; end: number } | undefined;
      try {
        parsed = parseReply(Buffer.concat(chunks), 0);
      } catch (err) {
        sock.destroy(fail((err as Error).message));
        return;
      }
      if (parsed === undefined) return;
      sock.destroy();
      if (parsed.value instanceof RespError) reject(fail(`error reply: ${parsed.value.message}`));
      else resolve(parsed.value);
    });
    sock.once("close", () => reject(fail("connection closed before a full reply")));
    sock.write(encodeCommand(args));
  });
}

/** An error reply inside a parsed value; only the top level turns it into a rejection. */
class RespError {
  constructor(readonly message: string) {}
}

function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? Buffer.from(a, "utf8") : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Parses one reply starting at `pos`; undefined while more bytes are needed. */
function parseReply(buf: Buffer, pos: number): { value: RespReply | RespError; end: number } | undefined {
  const lineEnd = buf.indexOf("\r\n", pos);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[pos] ?? 0);
  const line = buf.toString("utf8", pos + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new RespError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { value: buf.toString("utf8", next, next + len), end: next + len + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespReply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, at);
        if (item === undefined) return undefined;
        // An error nested in an array (EXEC) is kept as its text; callers of a test helper read it.
        items.push(item.value instanceof RespError ? `-${item.value.message}` : item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)} (not a Redis server?)`);
  }
}

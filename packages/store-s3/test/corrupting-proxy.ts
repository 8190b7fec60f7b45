import { createServer, connect, type Server, type Socket } from "node:net";

/** One HTTP request the proxy passed on: its request line, headers, and whether a body byte was flipped. */
export interface ProxiedRequest {
  readonly method: string;
  readonly target: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyBytes: number;
  readonly corrupted: boolean;
}

export interface CorruptingProxy {
  /** `http://127.0.0.1:<port>`: use it as the S3 endpoint. */
  readonly endpoint: string;
  /** Every request seen so far, in the order their headers arrived. */
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

/** Past this many header bytes without a blank line the stream is not HTTP the proxy understands. */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * A TCP proxy in front of an HTTP server that flips one byte in the middle of the body of each
 * request `corrupt` picks: what a faulty link, NIC or middlebox does to bytes in flight, which
 * only a digest the server checks can catch. It understands just enough HTTP/1.1 for an S3
 * client: requests with a Content-Length body (no chunked encoding) on kept-alive connections.
 * Answers pass back untouched.
 */
export async function startCorruptingProxy(
  targetPort: number,
  corrupt: (req: Omit<ProxiedRequest, "corrupted">) => boolean,
): Promise<CorruptingProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    upstream.pipe(client);
    let head = Buffer.alloc(0);
    let remaining = 0;
    let bodyPos = 0;
    let flipAt = -1;
    client.on("data", (chunk: Buffer) => {
      let rest = chunk;
      while (rest.length > 0) {
        if (remaining === 0) {
          head = Buffer.concat([head, rest]);
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) {
            if (head.length > MAX_HEADER_BYTES) drop();
            return;
          }
          const [line = "", ...fields] = head.subarray(0, end).toString("latin1").split("\r\n");
          const [method = "", target = ""] = line.split(" ");
          const headers: Record<string, string> = {};
          for (const f of fields) {
            const i = f.indexOf(":");
            if (i > 0) headers[f.slice(0, i).trim().toLowerCase()] = f.slice(i + 1).trim();
          }
          const bodyBytes = Number(headers["content-length"] ?? 0);
          const seen = { method, target, headers, bodyBytes };
          const corrupted = bodyBytes > 0 && corrupt(seen);
          requests.push({ ...seen, corrupted });
          upstream.write(head.subarray(0, end + 4));
          rest = head.subarray(end + 4);
          head = Buffer.alloc(0);
          remaining = bodyBytes;
          bodyPos = 0;
          flipAt = corrupted ? Math.floor(bodyBytes / 2) : -1;
          continue;
        }
        const n = Math.min(remaining, rest.length);
        let slice = rest.subarray(0, n);
        if (flipAt >= bodyPos && flipAt < bodyPos + n) {
          slice = Buffer.from(slice);
          slice[flipAt - bodyPos] ^= 0xff;
        }
        upstream.write(slice);
        bodyPos += n;
        remaining -= n;
        rest = rest.subarray(n);
      }
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

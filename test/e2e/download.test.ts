import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "./cli-process.js";
import { startSwarm, type Swarm } from "./swarm.js";

const MiB = 1024 * 1024;
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.close();
  swarm = undefined;
});

describe("shoal get against real libtorrent seeds", () => {
  it("downloads a single-file torrent over an HTTP tracker and the bytes match", async () => {
    swarm = await startSwarm({ payload: { name: "single.bin", size: 24 * MiB + 12345 }, pieceLength: 256 * 1024, tracker: "http", seeds: 2 });
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 120_000);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
    const done = r.events.find((e) => e["event"] === "completed");
    expect(done?.["infoHash"]).toBe(swarm.infoHashHex);
    expect(done?.["totalBytes"]).toBe(24 * MiB + 12345);
  });

  it("downloads a multi-file torrent made by libtorrent (hybrid, pad files) over a UDP tracker", async () => {
    swarm = await startSwarm({
      payload: {
        name: "multi",
        files: [
          { path: "a/one.bin", size: 3 * MiB + 7 },
          { path: "a/empty.txt", size: 0 },
          { path: "b/c/two.bin", size: 5 * MiB },
          { path: "three.bin", size: 700_001 },
          { path: "tiny.txt", size: 1 },
        ],
      },
      pieceLength: 64 * 1024,
      tracker: "udp",
      tool: "libtorrent-hybrid",
      seeds: 2,
    });
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0", "--json"], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
  });

  it("downloads a multi-file torrent made by mktorrent over a UDP tracker", async () => {
    swarm = await startSwarm({
      payload: {
        name: "mk",
        files: [
          { path: "x/1.bin", size: 2 * MiB + 1 },
          { path: "x/2.bin", size: 123_456 },
          { path: "y.bin", size: 4 * MiB },
        ],
      },
      pieceLength: 32 * 1024,
      tracker: "udp",
      seeds: 1,
    });
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0"], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
  });
});

describe("torrents made by other tools", () => {
  it("downloads a multi-file torrent made by transmission-create (one tier per tracker)", async () => {
    swarm = await startSwarm({
      payload: { name: "tc", files: [{ path: "d/a.bin", size: 1_500_000 }, { path: "b.bin", size: 70_000 }] },
      pieceLength: 32 * 1024,
      tracker: "http",
      tool: "transmission",
      seeds: 1,
    });
    const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", "0"], 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await swarm.mismatches()).toEqual([]);
  });
});

describe("shoal get with other sources", () => {
  it("downloads from the http URL of a .torrent", async () => {
    const { createServer } = await import("node:http");
    const { readFile } = await import("node:fs/promises");
    swarm = await startSwarm({ payload: { name: "from-url.bin", size: 3 * MiB }, pieceLength: 64 * 1024, tracker: "http", seeds: 1 });
    const bytes = await readFile(swarm.torrentPath);
    const server = createServer((req, res) => {
      if (req.url === "/old.torrent") {
        res.writeHead(302, { location: "/files/x.torrent" }).end();
      } else if (req.url === "/files/x.torrent") {
        res.writeHead(200, { "content-type": "application/x-bittorrent" }).end(bytes);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await runCli(["get", `http://127.0.0.1:${port}/old.torrent`, "--out", swarm.out, "--port", "0"], 60_000);
      expect(r.code, r.stderr).toBe(0);
      expect(await swarm.mismatches()).toEqual([]);
      const missing = await runCli(["get", `http://127.0.0.1:${port}/nope.torrent`, "--out", swarm.out, "--port", "0"], 60_000);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toMatch(/404/);
    } finally {
      server.close();
    }
  });

  it("falls back to a free port when the requested one is taken", async () => {
    const { createServer } = await import("node:net");
    swarm = await startSwarm({ payload: { name: "port.bin", size: 1 * MiB }, pieceLength: 32 * 1024, tracker: "http", seeds: 1 });
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "0.0.0.0", r));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(["get", swarm.torrentPath, "--out", swarm.out, "--port", String(taken)], 60_000);
      expect(r.code, r.stderr).toBe(0);
      expect(await swarm.mismatches()).toEqual([]);
    } finally {
      blocker.close();
    }
  });
});

import { createSocket, type Socket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import { encodeCompactNodes, tryDecodeKrpc } from "@shoal/dht";
import {
  freePort,
  makePayload,
  makeTorrent,
  sha256File,
  startLibtorrentDht,
  startLibtorrentSeed,
  startOpentracker,
  type LibtorrentDht,
  type Opentracker,
  type Payload,
  type Peer,
} from "@shoal/testkit";
import { runCli } from "./cli-process.js";

const MiB = 1024 * 1024;

/**
 * The DHT (BEP 5) against a little DHT of real libtorrent nodes on 127.0.0.1, with a libtorrent
 * seed that announces its torrent into the DHT and to no working tracker: shoal, given only
 * --dht-bootstrap, finds the seed and downloads, from a bare magnet link or a .torrent whose
 * trackers are all dead.
 */
// A loaded machine takes tens of seconds to start a CLI process: generous deadlines throughout.
describe("shoal get with the DHT", { timeout: 400_000 }, () => {
  let dir: string;
  let payload: Payload;
  let dht: LibtorrentDht;
  let torrentPath: string;
  let infoHashHex: string;
  let tracker: Opentracker;
  let privateSeed: Peer;
  let privateTorrent: { torrentPath: string; infoHashHex: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-dht-e2e-"));
    const data = join(dir, "data");
    payload = await makePayload(data, {
      name: "dht-set",
      seed: "dht-e2e",
      files: [
        { path: "a.bin", size: 2 * MiB + 11 },
        { path: "sub/b.bin", size: MiB + 3 },
      ],
    });
    // Its only tracker is a closed port on loopback: dead, as trackers of old torrents are.
    const deadPort = await freePort("127.0.0.1");
    const made = await makeTorrent({ path: payload.root, out: join(dir, "dead-trackers.torrent"), pieceLength: 64 * 1024, announce: [[`http://127.0.0.1:${deadPort}/announce`]] });
    torrentPath = made.torrentPath;
    infoHashHex = made.infoHashHex;
    dht = await startLibtorrentDht(4, [{ torrentPath, dataDir: data }]);
    await dht.announced(infoHashHex);
    // A private torrent of the same data, seeded through a tracker only.
    tracker = await startOpentracker({ infoHashes: [] });
    const priv = await makeTorrent({ path: payload.root, out: join(dir, "private.torrent"), pieceLength: 64 * 1024, announce: [[tracker.httpAnnounce]], private: true });
    await tracker.allow(priv.announceHashes);
    privateTorrent = { torrentPath: priv.torrentPath, infoHashHex: priv.infoHashHex };
    privateSeed = await startLibtorrentSeed({ torrentPath: priv.torrentPath, dataDir: data });
    await privateSeed.ready;
  }, 180_000);

  afterAll(async () => {
    await dht?.stop();
    await privateSeed?.stop();
    await tracker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const mismatches = async (out: string) => {
    const bad: string[] = [];
    for (const f of payload.files) {
      const got = await sha256File(join(out, f.path)).catch(() => "missing");
      if (got !== f.sha256) bad.push(`${f.path}: ${got}`);
    }
    return bad;
  };

  /** A fresh output directory and DHT state file per run: no run learns nodes from another. */
  const run = async (args: string[], timeoutMs = 240_000, env: NodeJS.ProcessEnv = {}) => {
    const out = await mkdtemp(join(tmpdir(), "shoal-dht-out-"));
    try {
      const r = await runCli(["get", ...args, "--out", out, "--port", "0", "--dht-port", "0", "--json"], timeoutMs, {
        SHOAL_DHT_STATE_FILE: join(out, ".dht-state.json"),
        ...env,
      });
      return { ...r, mismatches: r.code === 0 ? await mismatches(out) : ["not run to completion"] };
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  };

  it("downloads from a magnet link with no tracker and no peer, through the DHT alone", async () => {
    const r = await run([`magnet:?xt=urn:btih:${infoHashHex}`, "--dht-bootstrap", dht.bootstrap]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code, r.stderr).toBe(0);
    expect(r.mismatches).toEqual([]);
    expect(r.events.find((e) => e["event"] === "metadata")?.["name"]).toBe("dht-set");
    expect(await dht.getPeersSeen()).toContain(infoHashHex);
    const counters = r.events.find((e) => e["event"] === "dht");
    expect(counters?.["lookups"]).toBeGreaterThan(0);
    expect(counters?.["peersFound"]).toBeGreaterThan(0);
  });

  it("downloads a .torrent whose trackers are all dead through the DHT", async () => {
    const r = await run([torrentPath, "--dht-bootstrap", dht.bootstrap]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.mismatches).toEqual([]);
  });

  it("SHOAL_DHT_BOOTSTRAP stands for the flag", async () => {
    const r = await run([`magnet:?xt=urn:btih:${infoHashHex}`], 240_000, { SHOAL_DHT_BOOTSTRAP: dht.bootstrap });
    expect(r.code, r.stderr).toBe(0);
    expect(r.mismatches).toEqual([]);
  });

  it("with --no-dht a magnet link with no tracker and no peer fails at once, saying why", async () => {
    const started = Date.now();
    const r = await run([`magnet:?xt=urn:btih:${infoHashHex}`, "--no-dht", "--dht-bootstrap", dht.bootstrap], 200_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no tracker .*DHT is off/);
    expect(r.stderr).not.toMatch(/internal error/);
    // Waiting for peers would take the metadata timeout, 300 s; the margin is for a loaded machine.
    expect(Date.now() - started).toBeLessThan(150_000);
  });

  it("a private torrent is downloaded from its tracker and never looked up in the DHT", async () => {
    const r = await run([privateTorrent.torrentPath, "--dht-bootstrap", dht.bootstrap]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.mismatches).toEqual([]);
    expect(await dht.getPeersSeen()).not.toContain(privateTorrent.infoHashHex);
    // The node ran (it answers others) but looked nothing up.
    expect(r.events.find((e) => e["event"] === "dht")?.["lookups"]).toBe(0);
  });

  it("a hostile DHT node (malformed KRPC, bogus nodes and peers, a flood) does not stop the download", async () => {
    const hostile = await startHostileNode();
    try {
      const r = await run([`magnet:?xt=urn:btih:${infoHashHex}`, "--dht-bootstrap", `${hostile.address},${dht.bootstrap}`]);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.code, r.stderr).toBe(0);
      expect(r.mismatches).toEqual([]);
      // It was asked, so its junk was read and dropped.
      expect(hostile.queries()).toBeGreaterThan(0);
    } finally {
      hostile.close();
    }
  });

  it("a bad bootstrap list is a one-line error naming the flag or the variable, exit status 2", async () => {
    const flag = await runCli(["get", `magnet:?xt=urn:btih:${infoHashHex}`, "--out", dir, "--dht-bootstrap", "127.0.0.1"], 120_000);
    expect(flag.code).toBe(2);
    expect(flag.stderr.split("\n")[0]).toMatch(/--dht-bootstrap: .*"127\.0\.0\.1" is not host:port/);
    const env = await runCli(["get", `magnet:?xt=urn:btih:${infoHashHex}`, "--out", dir], 120_000, { SHOAL_DHT_BOOTSTRAP: "nowhere:99999" });
    expect(env.code).toBe(2);
    expect(env.stderr.trim().split("\n")).toHaveLength(1);
    expect(env.stderr).toMatch(/SHOAL_DHT_BOOTSTRAP: .*port from 1 to 65535/);
  });
});

/**
 * A DHT node that answers every query with junk: random bytes, a cut-short message, a response
 * to another transaction, and a "response" listing bogus nodes (closed ports, 0.0.0.0) and bogus
 * peers, then floods the asker with garbage.
 */
async function startHostileNode(): Promise<{ address: string; queries(): number; close(): void }> {
  const socket: Socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  let queries = 0;
  socket.on("message", (msg, from) => {
    const q = tryDecodeKrpc(msg);
    if (!q || q.kind !== "query") return;
    queries++;
    const send = (b: Uint8Array) => socket.send(b, from.port, from.address);
    send(randomBytes(200));
    send(encode({ t: q.t, y: "r", r: { id: randomBytes(20) } }).subarray(0, 15));
    send(encode({ t: "zz", y: "r", r: { id: randomBytes(20) } }));
    const bogus = Array.from({ length: 8 }, (_, i) => ({ id: randomBytes(20), ip: i % 2 === 0 ? "127.0.0.1" : "0.0.0.0", port: 1 + i }));
    send(encode({ t: q.t, y: "r", r: { id: randomBytes(20), nodes: encodeCompactNodes(bogus), token: "tok", values: [Uint8Array.of(127, 0, 0, 1, 0, 1), Uint8Array.of(1, 2, 3)] } }));
    for (let i = 0; i < 200; i++) send(randomBytes(1 + (i % 64)));
  });
  const port = socket.address().port;
  return { address: `127.0.0.1:${port}`, queries: () => queries, close: () => socket.close() };
}

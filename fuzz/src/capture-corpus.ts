import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeWithSpans } from "@shoal/bencode";
import {
  makePayload,
  makeTorrent,
  startAria2Seed,
  startOpentracker,
  startQbittorrentSeed,
  startTransmissionSeed,
  type Peer,
} from "@shoal/testkit";
import {
  buildAnnounceUrl,
  buildScrapeUrl,
  decodeConnectResponse,
  encodeAnnounceRequest,
  encodeConnectRequest,
  encodeScrapeRequest,
  scrapeUrlOf,
} from "@shoal/tracker-proto";
import { RESERVED_BITS, encodeHandshake, encodeMessage } from "@shoal/wire";

/*
 * Records real samples of every format the fuzz targets decode, from the programs shoal meets
 * in the wild: .torrent files written by mktorrent and transmission-create, opentracker's HTTP
 * and UDP answers, and the bytes aria2, Transmission and qBittorrent send on a peer connection
 * (handshake, BEP 10 extension handshake, bitfield, unchoke, a piece). The files land in
 * fuzz/corpus/<target>/, where every campaign starts from them. Run it again after adding a
 * target or upgrading a tool:
 *
 *   npx tsc -b fuzz && node fuzz/dist/capture-corpus.js
 *
 * It needs the tools the e2e tests use; a missing one is skipped with a message.
 */

const corpusRoot = resolve(fileURLToPath(new URL("../corpus", import.meta.url)));
/** The multi-file payload is 7 pieces long: the piece count wire-messages' header value 3 selects. */
const PIECE_LENGTH = 32 * 1024;
/** How long a seed gets to send its opening messages and answer one request. */
const LISTEN_MS = 4_000;
const TRACKER_TIMEOUT_MS = 3_000;

function save(target: string, name: string, bytes: Uint8Array): void {
  mkdirSync(join(corpusRoot, target), { recursive: true });
  writeFileSync(join(corpusRoot, target, name), bytes);
  console.log(`  ${target}/${name} (${bytes.length} bytes)`);
}

async function httpGet(url: string): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(TRACKER_TIMEOUT_MS) });
  return new Uint8Array(await res.arrayBuffer());
}

/** Sends one datagram and returns the first answer. */
function udpExchange(host: string, port: number, packet: Uint8Array): Promise<Uint8Array> {
  const socket = createSocket("udp4");
  return new Promise<Uint8Array>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP answer from ${host}:${port}`));
    }, TRACKER_TIMEOUT_MS);
    socket.on("message", (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(new Uint8Array(msg));
    });
    socket.send(packet, port, host);
  });
}

async function captureTracker(announce: string, udpAnnounce: string, infoHash: Uint8Array, host: string, port: number): Promise<void> {
  const params = {
    infoHash,
    peerId: Buffer.concat([Buffer.from("-SH0100-"), randomBytes(12)]),
    port: 6881,
    uploaded: 0,
    downloaded: 0,
    left: 1000,
    numwant: 50,
  };
  save("tracker-announce", "opentracker-compact.bin", await httpGet(buildAnnounceUrl(announce, { ...params, event: "started" })));
  // opentracker answers a non-compact announce with an HTML error page: a real answer that is not bencode.
  save("tracker-announce", "opentracker-noncompact-html.bin", await httpGet(buildAnnounceUrl(announce, { ...params, compact: false })));
  save("tracker-announce", "opentracker-refused.bin", await httpGet(buildAnnounceUrl(announce, { ...params, infoHash: new Uint8Array(20).fill(0x5a) })));
  const scrape = scrapeUrlOf(announce);
  if (scrape !== undefined) save("tracker-scrape", "opentracker-scrape.bin", await httpGet(buildScrapeUrl(scrape, [infoHash, new Uint8Array(20).fill(1)])));

  const transactionId = 0x1234_5678;
  const connectAnswer = await udpExchange(host, port, encodeConnectRequest(transactionId));
  save("tracker-udp", "opentracker-connect.bin", connectAnswer);
  const { connectionId } = decodeConnectResponse(connectAnswer, transactionId);
  const urlData = new URL(udpAnnounce).pathname;
  save("tracker-udp", "opentracker-announce.bin", await udpExchange(host, port, encodeAnnounceRequest({ connectionId, transactionId, params, urlData })));
  save("tracker-udp", "opentracker-scrape.bin", await udpExchange(host, port, encodeScrapeRequest({ connectionId, transactionId, infoHashes: [infoHash, new Uint8Array(20).fill(2)] })));
  save(
    "tracker-udp",
    "opentracker-unknown-torrent.bin",
    await udpExchange(host, port, encodeAnnounceRequest({ connectionId, transactionId, params: { ...params, infoHash: new Uint8Array(20).fill(0x5a) } })),
  );
}

/**
 * Connects to a seed as a leecher with the extension and fast bits, sends an extension
 * handshake and `interested`, asks for one block once unchoked, and returns every byte the seed
 * sent in the meantime.
 */
function captureSeed(peer: Peer, infoHash: Uint8Array): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let requested = false;
    const socket = connect(peer.port, peer.ip, () => {
      socket.write(
        Buffer.concat([
          encodeHandshake({ reserved: RESERVED_BITS.make({ extensionProtocol: true, fast: true }), infoHash, peerId: Buffer.from("-SH0100-corpuscorpus") }),
          encodeMessage({ type: "extended", id: 0, payload: Buffer.from("d1:md11:ut_metadatai1ee4:reqqi250e1:v11:shoal/0.1.0e") }),
          encodeMessage({ type: "interested" }),
        ]),
      );
    });
    socket.on("data", (data) => {
      chunks.push(data);
      // An unchoke (length 1, id 1) anywhere in the stream: ask for the first block once.
      if (!requested && Buffer.concat(chunks).includes(Buffer.of(0, 0, 0, 1, 1))) {
        requested = true;
        socket.write(encodeMessage({ type: "request", index: 0, begin: 0, length: 16384 }));
      }
    });
    socket.on("error", reject);
    setTimeout(() => {
      socket.destroy();
      resolve(Buffer.concat(chunks));
    }, LISTEN_MS);
  });
}

/** Splits a captured stream into its handshake sample, message stream and extension handshake payload. */
function saveStream(client: string, stream: Buffer): void {
  if (stream.length < 68) {
    console.log(`  ${client}: only ${stream.length} bytes arrived; nothing saved`);
    return;
  }
  save("wire-handshake", `${client}.bin`, stream.subarray(0, Math.min(stream.length, 68 + 512)));
  const messages = stream.subarray(68);
  if (messages.length === 0) return;
  // Header: piece count 7 (index 3), 16 KiB blocks (index 2), default message limit, chunk seed 7.
  save("wire-messages", `${client}.bin`, Buffer.concat([Buffer.of(3, 2, 0, 7), messages]));
  for (let at = 0; at + 4 <= messages.length; ) {
    const length = messages.readUInt32BE(at);
    if (length >= 2 && messages[at + 4] === 20 && messages[at + 5] === 0 && at + 4 + length <= messages.length) {
      const payload = messages.subarray(at + 6, at + 4 + length);
      save("extension-handshake", `${client}.bin`, payload);
      save("bencode", `extension-handshake-${client}.bin`, payload);
      break;
    }
    at += 4 + length;
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "shoal-corpus-"));
  const stopAll: Array<() => Promise<void>> = [];
  try {
    const data = join(work, "data");
    const payload = await makePayload(data, {
      name: "corpus",
      files: [
        { path: "a.bin", size: 3 * PIECE_LENGTH + 100 },
        { path: "sub/b.bin", size: 3 * PIECE_LENGTH - 200 },
        { path: "sub/empty", size: 0 },
        { path: "c.txt", size: PIECE_LENGTH - 1000 },
      ],
      seed: "fuzz-corpus",
    });
    const single = await makePayload(data, { name: "single.bin", size: 5 * PIECE_LENGTH + 7, seed: "fuzz-corpus-single" });

    const tracker = await startOpentracker({ infoHashes: [] });
    stopAll.push(() => tracker.stop());
    const tiers = [[tracker.httpAnnounce], [tracker.udpAnnounce]];
    console.log("torrents:");
    const made = [];
    for (const [tool, path, name, extra] of [
      ["mktorrent", payload.root, "mktorrent-multi.torrent", {}],
      ["mktorrent", single.root, "mktorrent-single-private.torrent", { private: true }],
      ["transmission", payload.root, "transmission-multi.torrent", {}],
      ["transmission", single.root, "transmission-single.torrent", {}],
    ] as const) {
      const torrent = await makeTorrent({ path, out: join(work, name), announce: tiers, pieceLength: PIECE_LENGTH, tool, ...extra });
      const bytes = readFileSync(torrent.torrentPath);
      save("metainfo", name, bytes);
      save("bencode", name, bytes);
      // The bare info dict too, as BEP 9 metadata arrives from peers.
      const { spans } = decodeWithSpans(bytes, ["info"], { keyOrder: "lenient" });
      const span = spans.get("info");
      if (span !== undefined) save("metainfo", name.replace(".torrent", ".info"), bytes.subarray(span.start, span.end));
      made.push(torrent);
    }
    const seeded = made[0]!;
    await tracker.allow(made.map((t) => t.infoHashHex));
    const infoHash = Buffer.from(seeded.infoHashHex, "hex");

    console.log("peers:");
    for (const [client, start] of [
      ["aria2", startAria2Seed],
      ["transmission", startTransmissionSeed],
      ["qbittorrent", startQbittorrentSeed],
    ] as const) {
      try {
        const peer = await start({ torrentPath: seeded.torrentPath, dataDir: data });
        stopAll.push(() => peer.stop());
        await peer.ready;
        saveStream(client, await captureSeed(peer, infoHash));
      } catch (err) {
        console.log(`  ${client}: skipped (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`);
      }
    }

    // Announced after the seeds, so the answers list real peers.
    console.log("tracker:");
    await captureTracker(tracker.httpAnnounce, tracker.udpAnnounce, infoHash, tracker.host, tracker.port);
  } finally {
    for (const stop of stopAll.reverse()) await stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HANDSHAKE_LENGTH_BYTES, type Message } from "@shoal/wire";
import { FakeSeed } from "../../../test/sim/fake-seed.js";
import { Cleanup, SimCluster, allSocketsClosed } from "../../../test/sim/harness.js";
import { makeFixture, type TorrentFixture } from "../../../test/sim/torrent-fixture.js";
import { until } from "../../../test/sim/wait.js";
import { dialWorker, fakePeerId, ourHandshake, type SessionOptions, type WireSession } from "../../../test/sim/wire-session.js";

const KiB = 1024;
const REPLY_WITHIN_MS = 3_000;
const COMPLETE_WITHIN_MS = 10_000;

const fixture: TorrentFixture = makeFixture({ pieceLength: 32 * KiB, size: 640 * KiB, seed: 92 });

const cleanup = new Cleanup();
afterEach(async () => {
  await cleanup.run();
  await allSocketsClosed();
});

async function joinedWorker(): Promise<SimCluster> {
  const c = cleanup.add(await SimCluster.start({ fixture }), (x) => x.close());
  await c.begin();
  return c;
}

async function dial(c: SimCluster, opts: SessionOptions = {}): Promise<WireSession> {
  const s = await dialWorker("127.0.0.1", c.workers[0]!.port, fixture.meta.infoHash, fixture.pieceCount, opts);
  return cleanup.add(s, (x) => x.close());
}

/** Writes `bytes` on a raw socket and reports what came back before the worker hung up. */
function rawExchange(port: number, bytes: Uint8Array): Promise<{ reply: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`worker kept the connection open for ${REPLY_WITHIN_MS} ms`));
    }, REPLY_WITHIN_MS);
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks) });
    });
  });
}

const isInterested = (m: Message) => m.type === "interested";

describe("peer-worker connections that arrive from peers", () => {
  it("hangs up without a handshake on a peer asking for a torrent it does not run", async () => {
    const c = await joinedWorker();
    const { reply } = await rawExchange(c.workers[0]!.port, ourHandshake(randomBytes(20), { fast: true }));
    expect(reply.length).toBe(0);
  });

  it("hangs up on a peer whose handshake is not BitTorrent, plaintext or encrypted", async () => {
    const c = await joinedWorker();
    // Not a BEP 3 handshake, so (encryption "prefer") it is read as an MSE public key: the worker
    // answers with its own (96 bytes and up to 512 of padding), then hangs up once the padding
    // window passes without the initiator's sync hash. It never sends a BEP 3 handshake.
    const junk = Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n".padEnd(96 + 512 + 20 + HANDSHAKE_LENGTH_BYTES));
    const { reply } = await rawExchange(c.workers[0]!.port, junk);
    expect(reply.length).toBeLessThanOrEqual(96 + 512);
    expect(reply.includes(Buffer.from("BitTorrent protocol"))).toBe(false);
  });

  it("downloads from a seed that dialled in", async () => {
    const c = await joinedWorker();
    const seed = cleanup.add(await FakeSeed.start(fixture, "127.0.0.93"), (s) => s.close());
    await seed.dialInto("127.0.0.1", c.workers[0]!.port);
    await c.waitComplete(COMPLETE_WITHIN_MS);
    await c.finish();
    expect(await c.mismatches()).toEqual([]);
    expect(await c.invariants()).toEqual([]);
    expect(seed.stats.blocksServed).toBeGreaterThanOrEqual((640 * KiB) / (16 * KiB));
  });

  it("refuses a second connection from a peer id it is already connected to", async () => {
    const c = await joinedWorker();
    const peerId = fakePeerId();
    const first = await dial(c, { fast: true, peerId });
    await first.waitForMessage((m) => m.type === "have_none", REPLY_WITHIN_MS);
    const second = await dial(c, { fast: true, peerId });
    expect(await second.waitClosed(REPLY_WITHIN_MS)).toBe("remote");
    expect(first.closed).toBe(false);
  });

  it("refuses a connection that carries its own peer id (it dialled itself)", async () => {
    const c = await joinedWorker();
    const probe = await dial(c, { fast: true });
    const own = Buffer.from(probe.remote.peerId);
    const self = await dial(c, { fast: true, peerId: own });
    expect(await self.waitClosed(REPLY_WITHIN_MS)).toBe("remote");
  });

  it("refuses a banned peer that dials in again from a new port", async () => {
    const c = await joinedWorker();
    const bad = cleanup.add(
      await FakeSeed.start(fixture, "127.0.0.94", { corruptPieces: Array.from({ length: fixture.pieceCount }, (_, i) => i) }),
      (s) => s.close(),
    );
    const first = await bad.dialInto("127.0.0.1", c.workers[0]!.port);
    await until(async () => (await c.claims.bannedPeers(c.infoHash)).length > 0, {
      timeoutMs: 5_000,
      what: "the corrupt seed to be banned",
      wakeOn: [[c.events, "banned"]],
      describe: () => c.describe(),
    });
    expect(await c.claims.bannedPeers(c.infoHash)).toEqual([`127.0.0.94:${first.socket.localPort}`]);
    await first.waitClosed(REPLY_WITHIN_MS);
    // Accepted, the worker declares interest in its pieces; refused, the connection ends, before
    // the worker's handshake (the address is checked before it answers) or after it.
    const outcome = await bad.dialInto("127.0.0.1", c.workers[0]!.port).then(
      (again) =>
        again.waitForMessage(isInterested, REPLY_WITHIN_MS).then(
          () => "used",
          () => "refused",
        ),
      () => "refused",
    );
    expect(outcome).toBe("refused");
  });

  it("stops at once while peers it accepted are connected, one in its handshake and one in the torrent", async () => {
    const c = await joinedWorker();
    const w = c.workers[0]!;
    const joined = await dial(c);
    const silent = connect({ host: "127.0.0.1", port: w.port });
    cleanup.add(silent, (x) => x.destroy());
    silent.on("error", () => undefined);
    await new Promise<void>((resolve) => silent.once("connect", resolve));
    const started = performance.now();
    await w.stop();
    // Both are hung up by the drain, neither waited out (the handshake timeout is 10 s).
    expect(performance.now() - started).toBeLessThan(REPLY_WITHIN_MS);
    expect(await joined.waitClosed(REPLY_WITHIN_MS)).toBe("remote");
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { Bitfield, encodeMessage, type Message } from "@shoal/wire";
import { FakeSeed } from "../../../test/sim/fake-seed.js";
import { Cleanup, SimCluster, allSocketsClosed } from "../../../test/sim/harness.js";
import { makeFixture, type TorrentFixture } from "../../../test/sim/torrent-fixture.js";
import { until } from "../../../test/sim/wait.js";
import { dialWorker, type SessionOptions, type WireSession } from "../../../test/sim/wire-session.js";

const KiB = 1024;
const BLOCK = 16 * KiB;
/** Replies from an in-process worker over loopback take milliseconds. */
const REPLY_WITHIN_MS = 3_000;

// Eight 32 KiB pieces, the last one short (20 000 bytes), so block bounds differ at the end.
const fixture: TorrentFixture = makeFixture({ pieceLength: 32 * KiB, size: 7 * 32 * KiB + 20_000, seed: 91 });
const LAST = fixture.pieceCount - 1;
const STORED = [0, 2, 5, LAST];
const MISSING_PIECE = 1;

const cleanup = new Cleanup();
afterEach(async () => {
  await cleanup.run();
  await allSocketsClosed();
});

/** A worker that has `stored` in its files and piece table, joined to the torrent, and nobody else. */
async function seedingWorker(stored: readonly number[] = STORED, worker: Parameters<typeof SimCluster.start>[0]["worker"] = {}): Promise<SimCluster> {
  const c = cleanup.add(await SimCluster.start({ fixture, stored, worker }), (x) => x.close());
  await c.begin();
  return c;
}

async function leecher(c: SimCluster, opts: SessionOptions = {}): Promise<WireSession> {
  const s = await dialWorker("127.0.0.1", c.workers[0]!.port, fixture.meta.infoHash, fixture.pieceCount, opts);
  cleanup.add(s, (x) => x.close());
  return s;
}

const isType =
  <T extends Message["type"]>(type: T) =>
  (m: Message): m is Extract<Message, { type: T }> =>
    m.type === type;

const request = (index: number, begin: number, length: number): Message => ({ type: "request", index, begin, length });

/** Interested, then waits for the unchoke a free upload slot brings. */
async function getUnchoked(s: WireSession): Promise<void> {
  s.send({ type: "interested" });
  await s.waitForMessage(isType("unchoke"), REPLY_WITHIN_MS);
}

function expectBlock(m: Extract<Message, { type: "piece" }>, index: number, begin: number, length: number): void {
  expect({ index: m.index, begin: m.begin, length: m.block.length }).toEqual({ index, begin, length });
  expect(m.block.equals(fixture.piece(index).subarray(begin, begin + length)), `bytes of ${index}/${begin}`).toBe(true);
}

describe("peer-worker uploads to a leecher that dials in", () => {
  it("sends its bitfield, unchokes an interested leecher and serves exactly the requested bytes", async () => {
    const c = await seedingWorker();
    const s = await leecher(c, { fast: true });
    const first = await s.waitForMessage((m) => m.type !== "keep_alive", REPLY_WITHIN_MS);
    expect(first.type).toBe("bitfield");
    const bits = new Bitfield(fixture.pieceCount, (first as Extract<Message, { type: "bitfield" }>).bits);
    expect([...bits.indices()]).toEqual(STORED);
    await getUnchoked(s);
    const since = s.mark();
    const wanted: [number, number, number][] = [
      [0, 0, BLOCK],
      [0, BLOCK, BLOCK],
      [LAST, 0, BLOCK],
      [LAST, BLOCK, 20_000 - BLOCK],
      // Requests need not be block-aligned: any range inside the piece is served.
      [5, 1000, 5000],
    ];
    for (const [i, b, l] of wanted) s.send(request(i, b, l));
    const got: Extract<Message, { type: "piece" }>[] = [];
    for (const [i, b] of wanted) got.push(await s.waitForMessage((m): m is Extract<Message, { type: "piece" }> => m.type === "piece" && m.index === i && m.begin === b, REPLY_WITHIN_MS, since));
    wanted.forEach(([i, b, l], k) => expectBlock(got[k]!, i, b, l));
    expect(s.received.slice(since).filter((m) => m.type === "piece")).toHaveLength(wanted.length);
  });

  it("announces have_none to a fast leecher when it has nothing, and nothing at all to a plain one", async () => {
    const c = await seedingWorker([]);
    const fast = await leecher(c, { fast: true });
    expect((await fast.waitForMessage((m) => m.type !== "keep_alive", REPLY_WITHIN_MS)).type).toBe("have_none");
    const plain = await leecher(c, { fast: false });
    await getUnchoked(plain);
    expect(plain.received.map((m) => m.type)).toEqual(["unchoke"]);
  });

  it("announces have_all to a fast leecher when it has every piece", async () => {
    const c = await seedingWorker(Array.from({ length: fixture.pieceCount }, (_, i) => i));
    const s = await leecher(c, { fast: true });
    expect((await s.waitForMessage((m) => m.type !== "keep_alive", REPLY_WITHIN_MS)).type).toBe("have_all");
  });

  it("sends the BEP 10 extension handshake first to a leecher that offers the extension protocol", async () => {
    const c = await seedingWorker();
    const s = await leecher(c, { fast: true, extended: true });
    expect((await s.waitForMessage((m) => m.type !== "keep_alive", REPLY_WITHIN_MS)).type).toBe("extended");
    const ext = s.received[0] as Extract<Message, { type: "extended" }>;
    expect(ext.id).toBe(0);
    expect(ext.payload.toString("latin1")).toMatch(/4:reqqi\d+e/);
  });

  it("rejects (BEP 6) a request for a piece it lacks", async () => {
    const c = await seedingWorker();
    const s = await leecher(c, { fast: true });
    await getUnchoked(s);
    s.send(request(MISSING_PIECE, 0, BLOCK));
    const r = await s.waitForMessage(isType("reject"), REPLY_WITHIN_MS);
    expect({ index: r.index, begin: r.begin, length: r.length }).toEqual({ index: MISSING_PIECE, begin: 0, length: BLOCK });
    expect(s.closed).toBe(false);
  });

  it("ignores a request for a piece it lacks from a leecher without the fast extension", async () => {
    const c = await seedingWorker();
    const s = await leecher(c, { fast: false });
    await getUnchoked(s);
    const since = s.mark();
    s.sendRaw(Buffer.concat([encodeMessage(request(MISSING_PIECE, 0, BLOCK)), encodeMessage(request(0, 0, BLOCK))]));
    const m = await s.waitForMessage(isType("piece"), REPLY_WITHIN_MS, since);
    expectBlock(m, 0, 0, BLOCK);
    expect(s.received.slice(since).map((x) => x.type)).toEqual(["piece"]);
  });

  it("rejects (BEP 6) requests from a leecher it is choking", async () => {
    const c = await seedingWorker();
    const s = await leecher(c, { fast: true });
    s.send(request(0, 0, BLOCK));
    const r = await s.waitForMessage(isType("reject"), REPLY_WITHIN_MS);
    expect(r.index).toBe(0);
    expect(s.received.some((m) => m.type === "piece")).toBe(false);
  });

  it("closes the connection on a request that runs past the end of the piece", async () => {
    const c = await seedingWorker();
    const s = await leecher(c, { fast: true });
    await getUnchoked(s);
    // The last piece is 20 000 bytes: its second block is 3 616 bytes, not 16 KiB.
    s.send(request(LAST, BLOCK, BLOCK));
    expect(await s.waitClosed(REPLY_WITHIN_MS)).toBe("remote");
    expect(s.received.some((m) => m.type === "piece")).toBe(false);
    expect(c.logsMatching(/request outside the piece/)).toHaveLength(1);
  });

  it("closes the connection on a request whose begin lies past a full piece", async () => {
    const c = await seedingWorker();
    const s = await leecher(c, { fast: true });
    await getUnchoked(s);
    s.send(request(0, 32 * KiB, 1));
    expect(await s.waitClosed(REPLY_WITHIN_MS)).toBe("remote");
  });

  it("drops a queued request when the leecher cancels it", async () => {
    const c = await seedingWorker();
    const s = await leecher(c, { fast: true });
    await getUnchoked(s);
    const since = s.mark();
    // One write, so all of it is decoded while the first block is still being read from disk:
    // the cancelled request is certainly still queued when the cancel arrives.
    s.sendRaw(
      Buffer.concat([
        encodeMessage(request(0, 0, BLOCK)),
        encodeMessage(request(0, BLOCK, BLOCK)),
        encodeMessage(request(2, 0, BLOCK)),
        encodeMessage(request(2, BLOCK, BLOCK)),
        encodeMessage({ type: "cancel", index: 2, begin: 0, length: BLOCK }),
        encodeMessage(request(5, 0, BLOCK)),
      ]),
    );
    // Requests are served in order, so once the last one arrived the cancelled one never will.
    await s.waitForMessage((m) => m.type === "piece" && m.index === 5, REPLY_WITHIN_MS, since);
    const served = s.received.slice(since).flatMap((m) => (m.type === "piece" ? [`${m.index}/${m.begin}`] : []));
    expect(served).toEqual(["0/0", `0/${BLOCK}`, `2/${BLOCK}`, "5/0"]);
  });

  it("tells a connected leecher about each piece it stores (HAVE) and serves them at once", async () => {
    const c = await seedingWorker([]);
    const s = await leecher(c, { fast: true });
    await s.waitForMessage(isType("have_none"), REPLY_WITHIN_MS);
    await getUnchoked(s);
    const seed = cleanup.add(await FakeSeed.start(fixture, "127.0.0.95"), (x) => x.close());
    await c.announce([seed.address]);
    await c.waitComplete(10_000);
    await until(() => s.received.filter((m) => m.type === "have").length === fixture.pieceCount, {
      timeoutMs: REPLY_WITHIN_MS,
      what: "a HAVE for every piece",
    });
    const haves = s.received.flatMap((m) => (m.type === "have" ? [m.index] : []));
    expect([...haves].sort((a, b) => a - b)).toEqual(Array.from({ length: fixture.pieceCount }, (_, i) => i));
    const since = s.mark();
    s.send(request(3, BLOCK, BLOCK));
    expectBlock(await s.waitForMessage(isType("piece"), REPLY_WITHIN_MS, since), 3, BLOCK, BLOCK);
  });

  it("unchokes interested leechers only while upload slots are free", async () => {
    const c = await seedingWorker(STORED, { uploadSlots: 2 });
    const a = await leecher(c, { fast: true });
    const b = await leecher(c, { fast: true });
    await getUnchoked(a);
    await getUnchoked(b);
    const third = await leecher(c, { fast: true });
    third.send({ type: "interested" });
    // A request from a choked leecher is rejected, so the reject proves the third is still choked.
    third.send(request(0, 0, BLOCK));
    await third.waitForMessage(isType("reject"), REPLY_WITHIN_MS);
    expect(third.received.some((m) => m.type === "unchoke")).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import type { ObjectStore } from "@shoal/coordination";
import { Bitfield } from "@shoal/wire";
import { Uploader } from "../src/uploader.js";
import { RateMeter } from "../src/rate-meter.js";
import { until } from "../../../test/sim/wait.js";
import { stubConnection } from "./stub-socket.js";

const PIECE_BYTES = 64 * 1024;
const BLOCK_BYTES = 16 * 1024;
const PIECES = 4;
/** Well past Node's warning threshold of ten listeners per event. */
const REQUESTS = 24;

/** Only `readRange` is used by the uploader; every piece reads as bytes equal to its index. */
const store = {
  readRange: async (_infoHash: string, offset: number, length: number) => Buffer.alloc(length, offset / PIECE_BYTES),
} as unknown as ObjectStore;

describe("Uploader", () => {
  it("waits for drain after each full write without leaving a close listener behind", async () => {
    const have = new Bitfield(PIECES);
    have.setAll();
    const uploader = new Uploader("ab".repeat(20), have, () => PIECE_BYTES, PIECE_BYTES, store, new RateMeter(() => performance.now()));
    const { conn, socket } = stubConnection({ pieceCount: PIECES });
    conn.setChoking(false);
    const closeListeners = socket.listenerCount("close");
    const drainListeners = socket.listenerCount("drain");
    // Every block fills the send buffer, so the uploader waits for 'drain' after each one.
    socket.writable = false;
    for (let k = 0; k < REQUESTS; k++) uploader.onRequest(conn, k % PIECES, (k % 4) * BLOCK_BYTES, BLOCK_BYTES);
    for (let k = 1; k <= REQUESTS; k++) {
      await until(() => socket.sentOf("piece").length === k, { timeoutMs: 2_000, what: `block ${k} to be written` });
      socket.drain();
      socket.writable = false;
    }
    await until(() => !conn.uploading, { timeoutMs: 2_000, what: "the upload queue to empty" });
    expect(socket.sentOf("piece")).toHaveLength(REQUESTS);
    expect(socket.listenerCount("close")).toBe(closeListeners);
    expect(socket.listenerCount("drain")).toBe(drainListeners);
  });

  it("stops waiting when the connection closes while the send buffer is full", async () => {
    const have = new Bitfield(PIECES);
    have.setAll();
    const uploader = new Uploader("ab".repeat(20), have, () => PIECE_BYTES, PIECE_BYTES, store, new RateMeter(() => performance.now()));
    const { conn, socket } = stubConnection({ pieceCount: PIECES });
    conn.setChoking(false);
    socket.writable = false;
    uploader.onRequest(conn, 0, 0, BLOCK_BYTES);
    uploader.onRequest(conn, 0, BLOCK_BYTES, BLOCK_BYTES);
    await until(() => socket.sentOf("piece").length === 1, { timeoutMs: 2_000, what: "the first block to be written" });
    conn.close("test over");
    await until(() => !conn.uploading, { timeoutMs: 2_000, what: "the uploader to give up on the closed connection" });
    expect(socket.sentOf("piece")).toHaveLength(1);
    expect(socket.listenerCount("drain")).toBe(0);
  });
});

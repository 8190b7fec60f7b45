import { afterEach, describe, expect, it } from "vitest";
import { Bitfield, encodeMessage } from "@shoal/wire";
import { makeFixture } from "../../../test/sim/torrent-fixture.js";
import { testSwarm, type TestSwarm } from "./swarm-kit.js";

const fixture = makeFixture({ pieceLength: 32 * 1024, size: 12 * 32 * 1024, seed: 93 });

let open: TestSwarm | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

/** The peer's bitfield (pieces 0, 1, 2) followed by a HAVE of piece 5, as one byte stream. */
function peerStream(): Buffer {
  const bits = new Bitfield(fixture.pieceCount);
  for (const i of [0, 1, 2]) bits.set(i);
  return Buffer.concat([encodeMessage({ type: "bitfield", bits: bits.toBytes() }), encodeMessage({ type: "have", index: 5 })]);
}

describe("attaching a connection whose bytes arrived before the swarm was ready", () => {
  it("reads the bytes that came with the handshake before those buffered while the torrent was joined", async () => {
    open = await testSwarm(fixture);
    const stream = peerStream();
    // The handshake's read ended after the bitfield's length and id; its bits and the HAVE arrived
    // while the swarm was joining.
    const { key } = open.connect({ rest: stream.subarray(0, 5), pending: [stream.subarray(5)] });
    const conn = open.swarm.conns.get(key)!;
    expect(conn.closed).toBe(false);
    expect([...conn.bitfield.indices()]).toEqual([0, 1, 2, 5]);
  });

  it("announces its own pieces before anything the peer's messages make it say", async () => {
    open = await testSwarm(fixture);
    const stream = peerStream();
    const bitfieldBytes = stream.length - 9;
    // A whole bitfield came with the handshake; the HAVE arrived while the swarm was joining.
    const { key, socket } = open.connect({ rest: stream.subarray(0, bitfieldBytes), pending: [stream.subarray(bitfieldBytes)] });
    // BEP 6: have_none (or a bitfield, or have_all) is the first message after the handshake.
    expect(socket.sent.map((m) => m.type)).toEqual(["have_none", "interested"]);
    expect([...open.swarm.conns.get(key)!.bitfield.indices()]).toEqual([0, 1, 2, 5]);
  });
});

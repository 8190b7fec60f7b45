import { afterEach, describe, expect, it } from "vitest";
import { Bitfield, encodeMessage, type Message } from "@shoal/wire";
import { makeFixture } from "../../../test/sim/torrent-fixture.js";
import { until } from "../../../test/sim/wait.js";
import type { SocketInput } from "@shoal/wire-net";
import type { StubSocket } from "./stub-socket.js";
import { testSwarm, type TestSwarm } from "./swarm-kit.js";

// Twelve pieces of two blocks; the peer has the first six.
const fixture = makeFixture({ pieceLength: 32 * 1024, size: 12 * 32 * 1024, seed: 94 });
const PEER_HAS = [0, 1, 2, 3, 4, 5];

let open: TestSwarm | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

type Request = Extract<Message, { type: "request" }>;

/** Answers every request not answered yet with the right bytes, as a seed would. */
function answer(socket: StubSocket, input: SocketInput, answered: Set<string>): void {
  for (const r of socket.sentOf("request")) {
    const id = `${r.index}/${r.begin}`;
    if (answered.has(id)) continue;
    answered.add(id);
    input.push(encodeMessage({ type: "piece", index: r.index, begin: r.begin, block: fixture.piece(r.index).subarray(r.begin, r.begin + r.length) }));
  }
}

describe("socket back-pressure", () => {
  it("holds request batches and HAVEs while the send buffer is full, and sends them all on drain", async () => {
    open = await testSwarm(fixture, { config: { minPipeline: 4 } });
    const bits = new Bitfield(fixture.pieceCount);
    for (const i of PEER_HAS) bits.set(i);
    const { socket, input, key } = open.connect({
      pending: [encodeMessage({ type: "bitfield", bits: bits.toBytes() }), encodeMessage({ type: "unchoke" })],
    });
    await until(() => socket.sentOf("request").length === 4, { timeoutMs: 2_000, what: "the first requests" });
    const answered = new Set<string>();

    // The peer stops reading: the next write fills our send buffer. It happens to be a HAVE.
    socket.writable = false;
    open.swarm.onStored(11);
    expect(socket.sentOf("have").map((m) => m.index)).toEqual([11]);
    open.swarm.onStored(10);
    open.swarm.onStored(9);
    const requestsBefore = socket.sentOf("request").length;
    // Blocks keep arriving (reading is not writing): each would make room for more requests.
    answer(socket, input, answered);
    // Requests are flushed at the end of a turn of the event loop: let that turn end.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(socket.sentOf("request")).toHaveLength(requestsBefore);
    expect(open.swarm.conns.get(key)!.outstanding.size).toBe(0);
    expect(socket.sentOf("have").map((m) => m.index)).toEqual([11]);

    // Drained: the held HAVEs go out first, in order, then a new batch of requests.
    socket.drain();
    expect(socket.sentOf("have").map((m) => m.index)).toEqual([11, 10, 9]);
    // Requests of one turn of the event loop go out together, at its end.
    await until(() => socket.sentOf("request").length > requestsBefore, { timeoutMs: 2_000, what: "requests after the drain" });
    const lastHave = socket.sent.map((m) => m.type).lastIndexOf("have");
    const resumed = socket.sent.slice(lastHave).filter((m): m is Request => m.type === "request");
    expect(resumed.length).toBeGreaterThan(0);
    expect(socket.sentOf("request").length).toBeGreaterThan(requestsBefore);
  });
});

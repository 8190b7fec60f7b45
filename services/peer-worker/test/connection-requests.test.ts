import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { MessageDecoder, type Message } from "@shoal/wire";
import { PeerConnection } from "../src/connection.js";
import { SocketInput } from "@shoal/wire-net";

/** Just enough of a socket for PeerConnection: records every write. */
class RecordingSocket extends EventEmitter {
  readonly writes: Buffer[] = [];
  write(buf: Uint8Array): boolean {
    this.writes.push(Buffer.from(buf));
    return true;
  }
  destroy(): void {}
}

function connection(socket: RecordingSocket): PeerConnection {
  return new PeerConnection(socket as unknown as Socket, new SocketInput(), "127.0.0.1:1", new Uint8Array(20), true, true, true, 64, {
    onMessage: () => undefined,
    onClose: () => undefined,
    onDrain: () => undefined,
  }, () => 0);
}

function decodeAll(writes: readonly Buffer[]): Message[] {
  const out: Message[] = [];
  const decoder = new MessageDecoder({ pieceCount: 64 }, (m) => out.push(m));
  for (const w of writes) decoder.push(w);
  return out;
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("PeerConnection request batching", () => {
  it("sends the requests of one tick in a single write", async () => {
    const socket = new RecordingSocket();
    const conn = connection(socket);
    for (let b = 0; b < 5; b++) conn.sendRequest(3, b * 16384, 16384);
    expect(socket.writes).toHaveLength(0);
    await nextTick();
    expect(socket.writes).toHaveLength(1);
    expect(decodeAll(socket.writes)).toEqual(
      Array.from({ length: 5 }, (_, b) => ({ type: "request", index: 3, begin: b * 16384, length: 16384 })),
    );
  });

  it("keeps requests in order with the messages sent after them", async () => {
    const socket = new RecordingSocket();
    const conn = connection(socket);
    conn.sendRequest(1, 0, 16384);
    conn.send({ type: "cancel", index: 1, begin: 0, length: 16384 });
    conn.sendRequest(2, 0, 16384);
    await nextTick();
    expect(decodeAll(socket.writes).map((m) => m.type)).toEqual(["request", "cancel", "request"]);
  });

  it("writes a full batch at once and the rest at the end of the tick", async () => {
    const socket = new RecordingSocket();
    const conn = connection(socket);
    for (let b = 0; b < 300; b++) conn.sendRequest(b % 64, 0, 16384);
    expect(socket.writes.length).toBeGreaterThan(0);
    await nextTick();
    const messages = decodeAll(socket.writes);
    expect(messages).toHaveLength(300);
    expect(messages.map((m) => (m.type === "request" ? m.index : -1))).toEqual(Array.from({ length: 300 }, (_, b) => b % 64));
    expect(socket.writes.length).toBeLessThan(10);
  });

  it("drops requests still queued when the connection closes", async () => {
    const socket = new RecordingSocket();
    const conn = connection(socket);
    conn.sendRequest(1, 0, 16384);
    conn.close("test");
    await nextTick();
    expect(socket.writes).toHaveLength(0);
  });
});

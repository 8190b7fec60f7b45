import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { CoordinationError, lendHeadroom, type SubjectPayloads } from "@shoal/coordination";
import { Inbox } from "@shoal/contract-tests";
import { freePort, NATS_MAX_PAYLOAD_BYTES, waitFor } from "@shoal/testkit";
import { consumerName, NatsBus } from "../src/index.js";
import { FAST, gate, NatsFixture, randomInfoHash } from "./helpers.js";

const nats = new NatsFixture();
beforeAll(() => nats.start());
afterEach(() => nats.cleanup());
afterAll(() => nats.stop());

type Verified = SubjectPayloads["piece_staged"];
const verified = (infoHash: string, piece: number): Verified => ({ infoHash, piece, attempt: 1, workerId: "w1", peers: [] });
const DURABLE = { ackWaitMs: 300, maxDeliveries: 5 } as const;

/** Piece bytes are not in any payload type yet; the bus carries extra fields as they are. */
type WithBytes<T> = T & { bytes: Uint8Array };

async function rejection(run: () => Promise<unknown>): Promise<CoordinationError> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CoordinationError);
  return caught as CoordinationError;
}

describe("NatsBus on a real nats-server", () => {
  it("carries a 4 MiB byte field unchanged on a durable subject and on a broadcast", async () => {
    const bus = await nats.bus(nats.space());
    const ih = randomInfoHash();
    const piece = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 31 + (i >>> 13)) & 0xff);
    const durable = new Inbox<Uint8Array>();
    const broadcast = new Inbox<Uint8Array>();
    await bus.subscribe("piece_staged", ih, (p) => durable.push((p as WithBytes<Verified>).bytes), { group: "writers", ...DURABLE });
    await bus.subscribe("piece_stored", ih, (p) => broadcast.push((p as WithBytes<SubjectPayloads["piece_stored"]>).bytes));
    await bus.publish("piece_staged", { ...verified(ih, 0), bytes: piece } as Verified);
    await bus.publish("piece_stored", { infoHash: ih, piece: 0, attempt: 1, bytes: piece } as SubjectPayloads["piece_stored"]);
    for (const inbox of [durable, broadcast]) {
      const [got] = await inbox.count(1, "the 4 MiB message");
      expect(got).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(got!).equals(Buffer.from(piece))).toBe(true);
    }
  });

  it("gathers durable messages of a subscription that lends its bytes in recycled bodies, each byte field right", async () => {
    const bus = await nats.bus(nats.space());
    const ih = randomInfoHash();
    const pieceOf = (n: number) => new Uint8Array(1024 * 1024).map((_, i) => (i * 7 + n * 101 + (i >>> 11)) & 0xff);
    const lent = new Inbox<{ piece: number; same: boolean; buffer: ArrayBufferLike }>();
    const kept = new Inbox<{ piece: number; bytes: Uint8Array }>();
    await bus.subscribe(
      "piece_staged",
      ih,
      (p) => {
        const bytes = (p as WithBytes<Verified>).bytes;
        lent.push({ piece: p.piece, same: Buffer.from(bytes).equals(Buffer.from(pieceOf(p.piece))), buffer: bytes.buffer });
      },
      { group: "writers", ...DURABLE, bytesLent: true },
    );
    // A second group that keeps the views it is handed: its bodies must never be reused.
    await bus.subscribe("piece_staged", ih, (p) => kept.push({ piece: p.piece, bytes: (p as WithBytes<Verified>).bytes }), { group: "keepers", ...DURABLE });
    for (let n = 0; n < 12; n++) await bus.publish("piece_staged", { ...verified(ih, n), bytes: pieceOf(n) } as Verified);
    const got = await lent.count(12, "12 lent messages");
    expect(got.every((g) => g.same)).toBe(true);
    // One at a time through a handler that returns at once: bodies come back and are used again.
    expect(new Set(got.map((g) => g.buffer)).size).toBeLessThan(12);
    // A kept body may be one the lending group gave back earlier, but is never taken from its
    // holder: after all the messages since, every kept view still holds its own piece.
    const held = await kept.count(12, "12 kept messages");
    for (const h of held) expect(Buffer.from(h.bytes).equals(Buffer.from(pieceOf(h.piece)))).toBe(true);
  });

  it("sends a durable message built in the headroom lent in front of its bytes, and copies a broadcast's", async () => {
    const bus = await nats.bus(nats.space());
    const ih = randomInfoHash();
    const room = 1024;
    const piece = new Uint8Array(new SharedArrayBuffer(room + 1024 * 1024), room, 1024 * 1024);
    for (let i = 0; i < piece.length; i++) piece[i] = (i * 7 + (i >>> 11)) & 0xff;
    lendHeadroom(piece, room);
    const front = new Uint8Array(piece.buffer, 0, room);
    const durable = new Inbox<WithBytes<Verified>>();
    const broadcast = new Inbox<Uint8Array>();
    await bus.subscribe("piece_staged", ih, (p) => durable.push(p as WithBytes<Verified>), { group: "writers", ...DURABLE });
    await bus.subscribe("piece_stored", ih, (p) => broadcast.push((p as WithBytes<SubjectPayloads["piece_stored"]>).bytes));
    // A broadcast is sent after publish returns: it must not use the room.
    await bus.publish("piece_stored", { infoHash: ih, piece: 0, attempt: 1, bytes: piece } as SubjectPayloads["piece_stored"]);
    expect(front.every((b) => b === 0)).toBe(true);
    const message = { ...verified(ih, 0), peers: ["10.0.0.1:6881"], bytes: piece } as Verified;
    await bus.publish("piece_staged", message);
    // The header went in front of the piece.
    const head = new TextEncoder().encode(`${JSON.stringify({ ...message, bytes: { $bin: [0, piece.byteLength] } })}\n`);
    expect(Buffer.from(front.subarray(room - head.byteLength)).equals(head)).toBe(true);
    const [got] = await durable.count(1, "the staged piece");
    expect({ ...got, bytes: undefined }).toEqual({ ...message, bytes: undefined });
    expect(Buffer.from(got!.bytes).equals(Buffer.from(piece))).toBe(true);
    const [copied] = await broadcast.count(1, "the broadcast");
    expect(Buffer.from(copied!).equals(Buffer.from(piece))).toBe(true);
  });

  it("refuses a broadcast over the server's max_payload with PAYLOAD_TOO_LARGE naming size and limit, and stays usable", async () => {
    const bus = await nats.bus(nats.space());
    expect(bus.maxPayloadBytes).toBe(NATS_MAX_PAYLOAD_BYTES);
    const ih = randomInfoHash();
    // Durable bytes that large travel in chunks (chunked-bytes.test.ts); a broadcast has no such path.
    const big = { infoHash: ih, piece: 0, attempt: 1, bytes: new Uint8Array(NATS_MAX_PAYLOAD_BYTES + 1) } as SubjectPayloads["piece_stored"];
    const err = await rejection(() => bus.publish("piece_stored", big));
    expect(err.code).toBe("PAYLOAD_TOO_LARGE");
    expect(err.retryable).toBe(false);
    const size = err.context["sizeBytes"] as number;
    expect(size).toBeGreaterThan(NATS_MAX_PAYLOAD_BYTES);
    expect(err.context["maxPayloadBytes"]).toBe(NATS_MAX_PAYLOAD_BYTES);
    expect(err.message).toContain(String(size));
    expect(err.message).toContain(String(NATS_MAX_PAYLOAD_BYTES));
    const got = new Inbox<number>();
    await bus.subscribe("piece_staged", ih, (p) => got.push(p.piece), { group: "writers", ...DURABLE });
    await bus.publish("piece_staged", verified(ih, 1));
    expect(await got.count(1, "a normal message after the refused one")).toEqual([1]);
  });

  it("counts deliveries with JetStream's delivery count and drops a message that fails its last one", async () => {
    const space = nats.space();
    const bus = await nats.bus(space);
    const ih = randomInfoHash();
    const got = new Inbox<number>();
    await bus.subscribe(
      "piece_staged",
      ih,
      (_p, delivery) => {
        got.push(delivery.redeliveryCount);
        throw new Error(`fails delivery ${delivery.redeliveryCount} on purpose`);
      },
      { group: "writers", ackWaitMs: 5_000, maxDeliveries: 3 },
    );
    await bus.publish("piece_staged", verified(ih, 0));
    await got.count(3, "three failing deliveries");
    // Terminated, not just left: the interest stream lets go of it at once, and the consumer
    // has nothing left to deliver, so there will be no fourth delivery.
    await waitFor(async () => (await nats.storedMessages(space.streamName)) === 0, { timeoutMs: 5_000, what: "the poison message to leave the stream" });
    const info = await nats.jsm.consumers.info(space.streamName, consumerName("writers", "piece_staged", ih));
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    expect(got.items).toEqual([1, 2, 3]);
    // The metrics endpoint reads these: three deliveries, two of them redeliveries, one poison.
    await waitFor(() => bus.stats().dropped.piece_staged === 1, { timeoutMs: 5_000, what: "the poison message to be counted" });
    expect(bus.stats()).toEqual({
      published: { piece_staged: 1 },
      received: { piece_staged: 3 },
      redelivered: { piece_staged: 2 },
      dropped: { piece_staged: 1 },
    });
  });

  it("counts messages published and received per subject name, broadcasts included", async () => {
    const bus = await nats.bus(nats.space());
    const ih = randomInfoHash();
    const durable = new Inbox<number>();
    const broadcast = new Inbox<number>();
    await bus.subscribe("piece_verified", ih, (p) => durable.push(p.piece), { group: "writers", ...DURABLE });
    await bus.subscribe("piece_stored", "*", (p) => broadcast.push(p.piece));
    for (let i = 0; i < 3; i++) await bus.publish("piece_verified", verified(ih, i));
    for (let i = 0; i < 2; i++) await bus.publish("piece_stored", { infoHash: ih, piece: i, attempt: 1 });
    await durable.count(3, "three durable messages");
    await broadcast.count(2, "two broadcasts");
    expect(bus.stats()).toEqual({
      published: { piece_verified: 3, piece_stored: 2 },
      received: { piece_verified: 3, piece_stored: 2 },
      redelivered: {},
      dropped: {},
    });
  });

  it("does not let a handler stuck past its ack wait stall the subscription", async () => {
    const bus = await nats.bus({ ...nats.space(), maxInFlight: 1 });
    const ih = randomInfoHash();
    const stuck = gate();
    const got = new Inbox<string>();
    try {
      await bus.subscribe(
        "piece_staged",
        ih,
        async (p, delivery) => {
          got.push(`${p.piece}/${delivery.redeliveryCount}`);
          if (p.piece === 0 && delivery.redeliveryCount === 1) await stuck.promise;
        },
        { group: "writers", ...DURABLE },
      );
      await bus.publish("piece_staged", verified(ih, 0));
      await bus.publish("piece_staged", verified(ih, 1));
      await got.until((items) => items.includes("1/1") && items.includes("0/2"), "piece 1 and the redelivery of piece 0");
    } finally {
      stuck.open();
    }
  });

  it("shares one consumer between buses of the same group: each message reaches one of them", async () => {
    const space = nats.space();
    const [a, b] = [await nats.bus(space), await nats.bus(space)];
    const ih = randomInfoHash();
    const got = new Inbox<string>();
    await a.subscribe("piece_staged", ih, (p) => got.push(`a${p.piece}`), { group: "verifiers", ...DURABLE });
    await b.subscribe("piece_staged", ih, (p) => got.push(`b${p.piece}`), { group: "verifiers", ...DURABLE });
    const staged = (piece: number) => ({ infoHash: ih, piece, attempt: 1, workerId: "w1", peers: [] });
    for (let piece = 0; piece < 20; piece++) await (piece % 2 ? a : b).publish("piece_staged", staged(piece));
    await got.count(20, "twenty messages");
    // Each was acknowledged, so nothing is left in the stream to be delivered a second time.
    await waitFor(async () => (await nats.storedMessages(space.streamName)) === 0, { timeoutMs: 5_000, what: "every message acknowledged" });
    expect(got.items.map((s) => Number(s.slice(1))).sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
    const consumers = await nats.jsm.consumers.list(space.streamName).next();
    expect(consumers.map((c) => c.name)).toEqual([consumerName("verifiers", "piece_staged", ih)]);
  });

  it("keeps messages for groups declared in config that no member has joined yet", async () => {
    const space = nats.space();
    const publisher = await nats.bus({ ...space, groups: "piece_staged:verifiers" });
    const ih = randomInfoHash();
    await publisher.publish("piece_staged", { infoHash: ih, piece: 4, attempt: 1, workerId: "w1", peers: [] });
    expect(await nats.storedMessages(space.streamName)).toBe(1);
    const verifier = await nats.bus(space);
    const got = new Inbox<number>();
    await verifier.subscribe("piece_staged", "*", (p) => got.push(p.piece), { group: "verifiers", ...DURABLE });
    expect(await got.count(1, "the message published before the group's first member")).toEqual([4]);
  });

  it("re-creates a consumer deleted behind its back and goes on consuming", async () => {
    const space = nats.space();
    // The shortest pull: the client notices the lost consumer after two missed 500 ms heartbeats.
    const bus = await nats.bus({ ...space, pullExpiresMs: 1_000 });
    const ih = randomInfoHash();
    const got = new Inbox<number>();
    await bus.subscribe("piece_staged", ih, (p) => got.push(p.piece), { group: "writers", ...DURABLE });
    const name = consumerName("writers", "piece_staged", ih);
    await nats.jsm.consumers.delete(space.streamName, name);
    await waitFor(() => nats.jsm.consumers.info(space.streamName, name).then(() => true, () => false), {
      timeoutMs: 10_000,
      what: "the consumer to be re-created",
    });
    await bus.publish("piece_staged", verified(ih, 5));
    expect(await got.count(1, "a message after the consumer came back", 10_000)).toEqual([5]);
  });

  it("fails durable publishes loudly while its stream is gone, and resumes once a connect re-creates it", async () => {
    const space = nats.space();
    const bus = await nats.bus({ ...space, pullExpiresMs: 1_000 });
    const ih = randomInfoHash();
    const got = new Inbox<number>();
    await bus.subscribe("piece_staged", ih, (p) => got.push(p.piece), { group: "writers", ...DURABLE });
    await nats.jsm.streams.delete(space.streamName);
    const err = await rejection(() => bus.publish("piece_staged", verified(ih, 1)));
    expect(err.code).toBe("BACKEND_UNAVAILABLE");
    // Another process starting (here: another bus connecting) creates the stream again; the
    // running subscription then re-creates its consumer.
    const restarted = await nats.bus(space);
    const name = consumerName("writers", "piece_staged", ih);
    await waitFor(() => nats.jsm.consumers.info(space.streamName, name).then(() => true, () => false), {
      timeoutMs: 10_000,
      what: "the consumer to be re-created",
    });
    await restarted.publish("piece_staged", verified(ih, 6));
    expect(await got.count(1, "a message after the stream came back", 10_000)).toEqual([6]);
  });

  it("fails to connect with BACKEND_UNAVAILABLE, retryable, when nothing listens", async () => {
    const port = await freePort();
    const started = Date.now();
    const err = await rejection(() => NatsBus.connect({ ...FAST, servers: `nats://127.0.0.1:${port}`, connectTimeoutMs: 500 }));
    expect(err.code).toBe("BACKEND_UNAVAILABLE");
    expect(err.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("refuses to take over a stream with another retention, naming it", async () => {
    const space = nats.space();
    await nats.jsm.streams.add({ name: space.streamName, subjects: [`${space.subjectPrefix}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File });
    const err = await rejection(() => nats.bus(space));
    expect(err.code).toBe("INVARIANT_BROKEN");
    expect(err.message).toContain(space.streamName);
  });
});

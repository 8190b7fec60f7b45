import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { jetstream } from "@nats-io/jetstream";
import { connect, headers } from "@nats-io/transport-node";
import type { SubjectPayloads } from "@shoal/coordination";
import { Inbox } from "@shoal/contract-tests";
import { startNatsServer, waitFor } from "@shoal/testkit";
import { NatsBus, encodePayload } from "../src/index.js";
import { CHUNK_HEADER, chunkHeaderValue } from "../src/chunk-plan.js";
import { FAST, gate, NatsFixture, randomInfoHash } from "./helpers.js";

/** A stock nats-server's limit: pieces of 1 MiB and more do not fit in one message. */
const STOCK_MAX_PAYLOAD = 1024 * 1024;
const MiB = 1024 * 1024;

const nats = new NatsFixture(STOCK_MAX_PAYLOAD);
beforeAll(() => nats.start());
afterEach(() => nats.cleanup());
afterAll(() => nats.stop());

type Staged = SubjectPayloads["piece_staged"];
const staged = (infoHash: string, piece: number, attempt: number, data?: Uint8Array): Staged => ({
  infoHash,
  piece,
  attempt,
  workerId: "w1",
  peers: ["10.0.0.1:6881"],
  ...(data ? { data } : {}),
});
const DURABLE = { ackWaitMs: 2_000, maxDeliveries: 5 } as const;
/** Several MiB through a server on a shared, loaded machine: generous, and still far below the runner's timeout. */
const DEADLINE_MS = 30_000;

function pieceBytes(length: number): Buffer {
  return randomBytes(length);
}

async function streamState(name: string): Promise<{ messages: number; bytes: number }> {
  const s = (await nats.jsm.streams.info(name)).state;
  return { messages: s.messages, bytes: s.bytes };
}

describe("byte fields over the server's max_payload travel in chunks", () => {
  it("a 4 MiB piece reaches both groups whole through a 1 MiB server; the releasing group's success purges its chunks", async () => {
    const space = nats.space();
    const bus = await nats.bus(space);
    expect(bus.maxPayloadBytes).toBe(STOCK_MAX_PAYLOAD);
    const ih = randomInfoHash();
    const piece = pieceBytes(4 * MiB + 12_345);
    const verifier = new Inbox<Staged>();
    const writer = new Inbox<Staged>();
    const writerMayFinish = gate();
    await bus.subscribe("piece_staged", ih, (p) => verifier.push(p), { group: "verifiers", ...DURABLE });
    await bus.subscribe(
      "piece_staged",
      ih,
      async (p) => {
        writer.push(p);
        await writerMayFinish.promise;
      },
      { group: "writers", releasesBytes: true, ...DURABLE },
    );
    await bus.publish("piece_staged", staged(ih, 7, 3, piece));
    const [v] = await verifier.count(1, "the verifier's delivery", DEADLINE_MS);
    const [w] = await writer.count(1, "the writer's delivery", DEADLINE_MS);
    for (const got of [v!, w!]) {
      expect({ ...got, data: undefined }).toEqual({ ...staged(ih, 7, 3), data: undefined });
      expect(Buffer.from(got.data!).equals(piece)).toBe(true);
    }
    // The message itself is small: the bytes are in five chunks of the bytes stream, each within the limit.
    const main = await streamState(space.streamName);
    expect(main.bytes).toBeLessThan(64 * 1024);
    const bytes = await streamState(`${space.streamName}_BYTES`);
    expect(bytes.messages).toBe(5);
    expect(bytes.bytes).toBeGreaterThan(piece.length);
    // The verifier has acknowledged; the chunks stay until the writer is done with them.
    await new Promise((r) => setTimeout(r, 300));
    expect((await streamState(`${space.streamName}_BYTES`)).messages).toBe(5);
    writerMayFinish.open();
    await waitFor(async () => (await streamState(`${space.streamName}_BYTES`)).messages === 0, { timeoutMs: 10_000, what: "the chunks purged" });
    await waitFor(async () => (await streamState(space.streamName)).messages === 0, { timeoutMs: 10_000, what: "the message acknowledged by both groups" });
  });

  it("two attempts of one piece published at once each arrive with their own bytes", async () => {
    const bus = await nats.bus(nats.space());
    const ih = randomInfoHash();
    const got = new Inbox<Staged>();
    await bus.subscribe("piece_staged", ih, (p) => got.push(p), { group: "verifiers", ...DURABLE });
    const sent = new Map([1, 2, 3].map((attempt) => [attempt, pieceBytes(2 * MiB + attempt)]));
    await Promise.all([...sent].map(([attempt, data]) => bus.publish("piece_staged", staged(ih, 0, attempt, data))));
    const all = await got.count(3, "three attempts", DEADLINE_MS);
    expect(all.map((p) => p.attempt).sort()).toEqual([1, 2, 3]);
    for (const p of all) expect(Buffer.from(p.data!).equals(sent.get(p.attempt)!), `attempt ${p.attempt}`).toBe(true);
  });

  it("a releasing group whose handler fails keeps the chunks: the redelivery gets the bytes again", async () => {
    const space = nats.space();
    const bus = await nats.bus(space);
    const ih = randomInfoHash();
    const piece = pieceBytes(3 * MiB);
    const deliveries: { count: number; same: boolean }[] = [];
    await bus.subscribe(
      "piece_staged",
      ih,
      (p, d) => {
        deliveries.push({ count: d.redeliveryCount, same: p.data !== undefined && Buffer.from(p.data).equals(piece) });
        if (d.redeliveryCount === 1) throw new Error("the first delivery fails");
      },
      { group: "writers", releasesBytes: true, ...DURABLE },
    );
    await bus.publish("piece_staged", staged(ih, 1, 1, piece));
    await waitFor(() => deliveries.length >= 2, { timeoutMs: 10_000, what: "the redelivery" });
    expect(deliveries.slice(0, 2)).toEqual([
      { count: 1, same: true },
      { count: 2, same: true },
    ]);
    await waitFor(async () => (await streamState(`${space.streamName}_BYTES`)).messages === 0, { timeoutMs: 10_000, what: "the chunks purged after the success" });
  });

  it("a message whose chunks are gone is delivered without its bytes, as if they never rode the bus", async () => {
    const space = nats.space();
    // The group's consumer exists from the connect, so the message waits in the stream for it.
    const bus = await nats.bus({ ...space, groups: ["piece_staged:verifiers"] });
    const ih = randomInfoHash();
    await bus.publish("piece_staged", staged(ih, 2, 1, pieceBytes(2 * MiB)));
    await nats.jsm.streams.purge(`${space.streamName}_BYTES`);
    const got = new Inbox<Staged>();
    await bus.subscribe("piece_staged", "*", (p) => got.push(p), { group: "verifiers", ...DURABLE });
    const [p] = await got.count(1, "the message without bytes", DEADLINE_MS);
    expect(p).toEqual(staged(ih, 2, 1));
    expect("data" in p!).toBe(false);
  });

  it("a reference to chunks that are not its own (another message's, or a chunk cut wrong) yields no bytes, never wrong ones", async () => {
    const space = nats.space();
    const bus = await nats.bus(space);
    const ih = randomInfoHash();
    const got = new Inbox<Staged>();
    await bus.subscribe("piece_staged", ih, (p) => got.push(p), { group: "verifiers", ...DURABLE });
    // A genuine message first, to learn where its chunks are.
    const genuine = pieceBytes(2 * MiB);
    await bus.publish("piece_staged", staged(ih, 4, 1, genuine));
    await got.count(1, "the genuine message", DEADLINE_MS);
    const admin = await connect({ servers: nats.server.url });
    try {
      const js = jetstream(admin);
      const bytesStream = `${space.streamName}_BYTES`;
      const chunks = [];
      for (let seq = 1; seq <= 3; seq++) chunks.push(await nats.jsm.direct.getMessage(bytesStream, { seq }));
      const [first] = chunks;
      const id = first!.subject.split(".").at(-1)!;
      const chunkBytes = first!.data.length;
      const ref = (seqs: number[], length = 2 * MiB) => ({ $chunks: { id, length, chunkBytes, seqs } });
      const header = (extra: Record<string, unknown>) => encodePayload({ ...staged(ih, 4, 2), ...extra });
      const subject = `${space.subjectPrefix}.shoal.${ih}.piece.staged`;
      // Its chunks in the wrong order: each says which one it is.
      await js.publish(subject, header({ attempt: 2, data: ref([2, 1, 3]) }));
      // A length that is not the one they were cut for.
      await js.publish(subject, header({ attempt: 3, data: ref([1, 2, 3], 2 * MiB + 1) }));
      // A chunk of the same subject whose header claims another offset.
      const h = headers();
      h.set(CHUNK_HEADER, chunkHeaderValue({ id, index: 1, offset: 5, total: 2 * MiB }));
      const forged = await js.publish(first!.subject, Buffer.alloc(chunkBytes), { headers: h });
      await js.publish(subject, header({ attempt: 4, data: ref([1, forged.seq, 3]) }));
      // A sequence that holds another torrent's chunk.
      const other = await js.publish(`${space.subjectPrefix}.shoal.${randomInfoHash()}.bytes.${id}`, chunks[1]!.data, { headers: chunks[1]!.header });
      await js.publish(subject, header({ attempt: 5, data: ref([1, other.seq, 3]) }));
      const tampered = (await got.count(5, "the genuine and the four tampered messages", DEADLINE_MS)).slice(1);
      expect(tampered.map((p) => p.attempt).sort()).toEqual([2, 3, 4, 5]);
      for (const p of tampered) expect("data" in p, `attempt ${p.attempt}`).toBe(false);
    } finally {
      await admin.close();
    }
  });

  it("holds no more chunked bytes at once than its budget, and still takes a message larger than the whole budget", async () => {
    const bus = await nats.bus({ ...nats.space(), maxInFlight: 4, maxChunkedBytesInFlight: 5 * MiB });
    const ih = randomInfoHash();
    let holding = 0;
    let mostAtOnce = 0;
    const got = new Inbox<number>();
    await bus.subscribe(
      "piece_staged",
      ih,
      async (p) => {
        holding++;
        mostAtOnce = Math.max(mostAtOnce, holding);
        await new Promise((r) => setTimeout(r, 150));
        holding--;
        got.push(p.data?.length ?? 0);
      },
      { group: "verifiers", ...DURABLE },
    );
    const sizes = [3 * MiB, 3 * MiB, 3 * MiB, 6 * MiB];
    await Promise.all(sizes.map((n, i) => bus.publish("piece_staged", staged(ih, i, 1, pieceBytes(n)))));
    expect([...(await got.count(4, "every piece", DEADLINE_MS))].sort()).toEqual([...sizes].sort());
    expect(mostAtOnce).toBe(1);
  });

  it("refuses to connect to a server whose max_payload is too small to carry chunks, naming the setting", async () => {
    const tiny = await startNatsServer({ maxPayloadBytes: 32 * 1024 });
    try {
      const err = await NatsBus.connect({ ...FAST, ...nats.space(), servers: tiny.url }).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(err?.code).toBe("INVARIANT_BROKEN");
      expect(err?.message).toMatch(/max_payload is 32768 bytes.*raise max_payload/);
    } finally {
      await tiny.stop();
    }
  });
});

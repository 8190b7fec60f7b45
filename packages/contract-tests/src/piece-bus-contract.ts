import { describe, expect } from "vitest";
import { CoordinationError, type PieceBus, type SubjectPayloads } from "@shoal/coordination";
import { expectRejection } from "./expect-error.js";
import { caseRegistry, type PortHarness } from "./harness.js";
import { randomId, randomInfoHash } from "./ids.js";
import { Inbox } from "./inbox.js";

export type PieceBusHarness = PortHarness<PieceBus>;

/**
 * How long a durable message may stay unacknowledged in these cases: short, so a redelivery
 * comes quickly, and far above what an in-process handler takes.
 */
const ACK_WAIT_MS = 200;
/** Deliveries allowed per durable message: enough for every retry a case makes. */
const MAX_DELIVERIES = 5;
const DURABLE = { ackWaitMs: ACK_WAIT_MS, maxDeliveries: MAX_DELIVERIES } as const;

type Stored = SubjectPayloads["piece_stored"];
type Staged = SubjectPayloads["piece_staged"];

const stored = (infoHash: string, piece: number): Stored => ({ infoHash, piece, attempt: 1 });
/** A durable message: a staged piece without bytes. */
const work = (infoHash: string, piece: number): Staged => ({ infoHash, piece, attempt: 1, workerId: "w1", peers: [] });

/** The piece the ack-wait fence publishes; cases use lower pieces for their own messages. */
const FENCE_PIECE = 99;
/** Deliveries of the fence message that hang past the ack wait before one acknowledges it. */
const FENCE_HANGS = 2;

/** A promise a case opens when it is done waiting; opening twice is harmless. */
function gate(): { promise: Promise<void>; open(): void } {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open: () => open() };
}

type Seen = { piece: number; redeliveryCount: number };

/**
 * Proves that a durable message could have been redelivered by now and was not. Absence cannot
 * be shown by sleeping, so a fence message on the same consumer leaves its first FENCE_HANGS
 * deliveries unacknowledged: its last delivery comes at least FENCE_HANGS ack waits after it was
 * published, so an earlier message whose ack was lost would have been redelivered before it.
 */
class AckWaitFence {
  private readonly waits = new Set<() => void>();

  /** The handler side: hangs on the fence's first deliveries, acknowledges everything else. */
  async handle(piece: number, delivery: { redeliveryCount: number }): Promise<void> {
    if (piece !== FENCE_PIECE || delivery.redeliveryCount > FENCE_HANGS) return;
    await new Promise<void>((resolve) => this.waits.add(resolve));
  }

  /** Publishes the fence and waits for its acknowledged delivery; releases the hung ones. */
  async pass(bus: PieceBus, infoHash: string, got: Inbox<Seen>): Promise<void> {
    try {
      await bus.publish("piece_staged", work(infoHash, FENCE_PIECE));
      await got.until(
        (items) => items.some((d) => d.piece === FENCE_PIECE && d.redeliveryCount === FENCE_HANGS + 1),
        `delivery ${FENCE_HANGS + 1} of the ack-wait fence`,
      );
      expect(got.items.filter((d) => d.piece === FENCE_PIECE).map((d) => d.redeliveryCount)).toEqual([1, 2, 3]);
    } finally {
      this.release();
    }
  }

  release(): void {
    for (const resolve of this.waits) resolve();
    this.waits.clear();
  }
}

async function expectUnavailable(run: () => Promise<unknown>, label: string): Promise<void> {
  const err = await expectRejection(run, CoordinationError, "BACKEND_UNAVAILABLE", label);
  expect(err.retryable, `${label}: retryable`).toBe(true);
}

/**
 * Cases every PieceBus adapter must pass. A subscription is live once `subscribe` resolves.
 * Absence of a message is shown with a fence: a later message on the same path, after which the
 * one that must not come has had its chance.
 */
export function pieceBusContract(harness: PieceBusHarness): void {
  describe(`PieceBus contract: ${harness.name}`, () => {
    const { scenario, done } = caseRegistry(harness);

    scenario("a broadcast reaches every subscriber with its payload intact", async (bus) => {
      const ih = randomInfoHash();
      const inboxes = [new Inbox<SubjectPayloads["peers_discovered"]>(), new Inbox<SubjectPayloads["peers_discovered"]>()];
      for (const inbox of inboxes) await bus.subscribe("peers_discovered", ih, (p) => inbox.push(p));
      const message = { infoHash: ih, peers: [{ ip: "127.0.0.1", port: 6881 }, { ip: "::1", port: 51413 }], source: "tracker" };
      await bus.publish("peers_discovered", message);
      for (const inbox of inboxes) expect(await inbox.count(1, "peers_discovered messages")).toEqual([message]);
    });

    scenario("a queue group gets each broadcast once across its members", async (bus) => {
      const ih = randomInfoHash();
      const got = new Inbox<number>();
      for (let m = 0; m < 3; m++) await bus.subscribe("piece_stored", ih, (p) => got.push(p.piece), { group: "writers" });
      for (let piece = 0; piece < 10; piece++) await bus.publish("piece_stored", stored(ih, piece));
      await got.until((items) => new Set(items).size === 10, "every piece once");
      await bus.publish("piece_stored", stored(ih, 10));
      await got.until((items) => items.includes(10), "the fence message");
      expect([...got.items].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    scenario("a durable subject gives each message to one member of its group", async (bus) => {
      const ih = randomInfoHash();
      const got = new Inbox<number>();
      for (let m = 0; m < 3; m++) {
        await bus.subscribe("piece_staged", ih, (p) => got.push(p.piece), { group: "writers", ...DURABLE });
      }
      for (let piece = 0; piece < 10; piece++) await bus.publish("piece_staged", work(ih, piece));
      await got.until((items) => new Set(items).size === 10, "every piece once");
      await bus.publish("piece_staged", work(ih, 10));
      await got.until((items) => items.includes(10), "the fence message");
      expect([...got.items].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    scenario("a durable message comes again after its handler throws, with a growing redeliveryCount", async (bus) => {
      const ih = randomInfoHash();
      const got = new Inbox<{ piece: number; redeliveryCount: number }>();
      await bus.subscribe(
        "piece_staged",
        ih,
        (p, delivery) => {
          got.push({ piece: p.piece, redeliveryCount: delivery.redeliveryCount });
          if (p.piece === 0 && delivery.redeliveryCount < 3) throw new Error(`handler fails delivery ${delivery.redeliveryCount} on purpose`);
        },
        { group: "writers", ...DURABLE },
      );
      await bus.publish("piece_staged", work(ih, 0));
      await got.until((items) => items.filter((d) => d.piece === 0).length >= 3, "three deliveries of piece 0");
      await bus.publish("piece_staged", work(ih, 1));
      await got.until((items) => items.some((d) => d.piece === 1), "the fence message");
      expect(got.items.filter((d) => d.piece === 0).map((d) => d.redeliveryCount)).toEqual([1, 2, 3]);
      expect(got.items.filter((d) => d.piece === 1).map((d) => d.redeliveryCount)).toEqual([1]);
    });

    scenario("a redelivery goes only to the group whose handler failed", async (bus) => {
      const ih = randomInfoHash();
      const failing = new Inbox<number>();
      const healthy = new Inbox<number>();
      await bus.subscribe(
        "piece_staged",
        ih,
        (p, delivery) => {
          failing.push(p.piece);
          if (p.piece === 0 && delivery.redeliveryCount === 1) throw new Error("first delivery fails on purpose");
        },
        { group: "verifiers", ...DURABLE },
      );
      await bus.subscribe("piece_staged", ih, (p) => healthy.push(p.piece), { group: "auditors", ...DURABLE });
      const staged = (piece: number) => ({ infoHash: ih, piece, attempt: 1, workerId: "w1", peers: ["10.0.0.1:6881"] });
      await bus.publish("piece_staged", staged(0));
      await failing.until((items) => items.filter((p) => p === 0).length >= 2, "the redelivery of piece 0");
      await bus.publish("piece_staged", staged(1));
      await failing.until((items) => items.includes(1), "the fence message in the failing group");
      await healthy.until((items) => items.includes(1), "the fence message in the healthy group");
      expect(healthy.items).toEqual([0, 1]);
    });

    scenario("a durable message published while its group has no member waits for one", async (bus) => {
      const ih = randomInfoHash();
      const first = await bus.subscribe("piece_staged", ih, () => {}, { group: "writers", ...DURABLE });
      await first.unsubscribe();
      await bus.publish("piece_staged", work(ih, 7));
      const got = new Inbox<number>();
      await bus.subscribe("piece_staged", ih, (p) => got.push(p.piece), { group: "writers", ...DURABLE });
      expect(await got.count(1, "the waiting message")).toEqual([7]);
    });

    scenario("a subscriber sees only its torrent, and '*' sees every torrent", async (bus) => {
      const [mine, theirs] = [randomInfoHash(), randomInfoHash()];
      const one = new Inbox<Stored>();
      const all = new Inbox<Stored>();
      await bus.subscribe("piece_stored", mine, (p) => one.push(p));
      await bus.subscribe("piece_stored", "*", (p) => all.push(p));
      await bus.publish("piece_stored", stored(theirs, 1));
      await bus.publish("piece_stored", stored(mine, 2));
      await all.count(2, "messages of both torrents");
      await one.count(1, "the message of its torrent");
      expect(one.items).toEqual([stored(mine, 2)]);
      expect([...all.items].sort((a, b) => a.piece - b.piece)).toEqual([stored(theirs, 1), stored(mine, 2)]);
    });

    scenario("a subscriber does not get other subjects", async (bus) => {
      const ih = randomInfoHash();
      const storedInbox = new Inbox<Stored>();
      await bus.subscribe("piece_stored", ih, (p) => storedInbox.push(p));
      const failed = new Inbox<SubjectPayloads["piece_failed"]>();
      await bus.subscribe("piece_failed", ih, (p) => failed.push(p));
      await bus.publish("piece_failed", { infoHash: ih, piece: 1, attempt: 1, peers: [] });
      await bus.publish("piece_stored", stored(ih, 2));
      await storedInbox.count(1, "piece_stored messages");
      await failed.count(1, "piece_failed messages");
      expect(storedInbox.items).toEqual([stored(ih, 2)]);
    });

    scenario("unsubscribe stops delivery, also for a member of a queue group", async (bus) => {
      const ih = randomInfoHash();
      const gone = new Inbox<number>();
      const stays = new Inbox<number>();
      const sub = await bus.subscribe("piece_stored", ih, (p) => gone.push(p.piece));
      await bus.subscribe("piece_stored", ih, (p) => stays.push(p.piece));
      const leaving = await bus.subscribe("piece_stored", ih, (p) => gone.push(p.piece), { group: "g" });
      const staying = new Inbox<number>();
      await bus.subscribe("piece_stored", ih, (p) => staying.push(p.piece), { group: "g" });
      await sub.unsubscribe();
      await leaving.unsubscribe();
      for (let piece = 0; piece < 4; piece++) await bus.publish("piece_stored", stored(ih, piece));
      await stays.count(4, "messages for the remaining subscriber");
      await staying.count(4, "messages for the remaining group member");
      expect(gone.items).toEqual([]);
    });

    scenario("subscribing to a durable subject without a queue group is refused", async (bus) => {
      let caught: unknown;
      try {
        await bus.subscribe("piece_staged", randomInfoHash(), () => {});
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CoordinationError);
    });

    scenario("a durable message not acknowledged within ackWaitMs is delivered again, and not after a later ack", async (bus) => {
      const ih = randomInfoHash();
      const got = new Inbox<Seen>();
      const fence = new AckWaitFence();
      const stuck = gate();
      try {
        await bus.subscribe(
          "piece_staged",
          ih,
          async (p, delivery) => {
            got.push({ piece: p.piece, redeliveryCount: delivery.redeliveryCount });
            // The first delivery of piece 0 hangs past the ack wait; the redelivery succeeds.
            if (p.piece === 0 && delivery.redeliveryCount === 1) await stuck.promise;
            else await fence.handle(p.piece, delivery);
          },
          { group: "writers", ...DURABLE },
        );
        await bus.publish("piece_staged", work(ih, 0));
        await got.until((items) => items.filter((d) => d.piece === 0).length >= 2, "the redelivery of the unacknowledged piece 0");
        // The first delivery finally returns: a late ack of a message already acknowledged.
        stuck.open();
        await fence.pass(bus, ih, got);
        expect(got.items.filter((d) => d.piece === 0).map((d) => d.redeliveryCount)).toEqual([1, 2]);
      } finally {
        stuck.open();
        fence.release();
      }
    });

    scenario("a durable message acknowledged in time is not delivered again after ackWaitMs", async (bus) => {
      const ih = randomInfoHash();
      const got = new Inbox<Seen>();
      const fence = new AckWaitFence();
      await bus.subscribe(
        "piece_staged",
        ih,
        async (p, delivery) => {
          got.push({ piece: p.piece, redeliveryCount: delivery.redeliveryCount });
          await fence.handle(p.piece, delivery);
        },
        { group: "writers", ...DURABLE },
      );
      await bus.publish("piece_staged", work(ih, 0));
      await got.until((items) => items.some((d) => d.piece === 0), "piece 0");
      await fence.pass(bus, ih, got);
      expect(got.items.filter((d) => d.piece === 0).map((d) => d.redeliveryCount)).toEqual([1]);
    });

    scenario("a durable handler that reports progress keeps its message past ackWaitMs without a redelivery", async (bus) => {
      const ih = randomInfoHash();
      const got = new Inbox<Seen>();
      const fence = new AckWaitFence();
      const waited = gate();
      try {
        await bus.subscribe(
          "piece_staged",
          ih,
          async (p, delivery) => {
            got.push({ piece: p.piece, redeliveryCount: delivery.redeliveryCount });
            if (p.piece !== 0) return fence.handle(p.piece, delivery);
            // Waits five ack waits, reporting progress every third of one, as the writer does
            // while a staged piece waits for its verdict.
            for (let beat = 0; beat < 15; beat++) {
              delivery.inProgress();
              await new Promise((resolve) => setTimeout(resolve, ACK_WAIT_MS / 3));
            }
            waited.open();
          },
          { group: "writers", ...DURABLE },
        );
        await bus.publish("piece_staged", work(ih, 0));
        await waited.promise;
        await fence.pass(bus, ih, got);
        expect(got.items.filter((d) => d.piece === 0).map((d) => d.redeliveryCount)).toEqual([1]);
      } finally {
        fence.release();
      }
    });

    scenario("publish and subscribe after close throw CoordinationError BACKEND_UNAVAILABLE, retryable", async (bus) => {
      await bus.subscribe("piece_stored", randomInfoHash(), () => {}, { group: randomId("g") });
      await bus.close();
      await expectUnavailable(() => bus.publish("piece_stored", stored(randomInfoHash(), 0)), "publish after close");
      await expectUnavailable(() => bus.publish("piece_staged", work(randomInfoHash(), 0)), "durable publish after close");
      await expectUnavailable(() => bus.subscribe("piece_stored", randomInfoHash(), () => {}), "subscribe after close");
      await expectUnavailable(
        () => bus.subscribe("piece_staged", randomInfoHash(), () => {}, { group: "writers", ...DURABLE }),
        "durable subscribe after close",
      );
      // A second close is harmless: teardown closes every port again.
      await bus.close();
    });

    done();
  });
}

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CoordinationError, type PieceBus, type SubjectPayloads } from "@shoal/coordination";
import { Inbox } from "@shoal/contract-tests";
import { waitFor } from "@shoal/testkit";
import { gate, NatsFixture, randomInfoHash } from "./helpers.js";

const nats = new NatsFixture();
beforeAll(() => nats.start());
afterEach(() => nats.cleanup());
afterAll(() => nats.stop());

/** Long enough for a restart plus the client's 100 ms reconnect, with room for a loaded machine. */
const RECOVERY_DEADLINE_MS = 15_000;
const ACK_WAIT_MS = 500;

const verified = (infoHash: string, piece: number): SubjectPayloads["piece_staged"] => ({ infoHash, piece, attempt: 1, workerId: "w1", peers: [] });
const stored = (infoHash: string, piece: number): SubjectPayloads["piece_stored"] => ({ infoHash, piece, attempt: 1 });

async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  return undefined;
}

function isUnavailable(err: unknown): boolean {
  return err instanceof CoordinationError && err.code === "BACKEND_UNAVAILABLE" && err.retryable;
}

/** Publishes as a caller would during recovery: BACKEND_UNAVAILABLE is retried until a deadline. */
async function publishOnceUp(bus: PieceBus, run: (bus: PieceBus) => Promise<void>, what: string): Promise<void> {
  await waitFor(
    async () => {
      const err = await errorOf(() => run(bus));
      if (err !== undefined && !isUnavailable(err)) throw err;
      return err === undefined;
    },
    { timeoutMs: RECOVERY_DEADLINE_MS, what, intervalMs: 100 },
  );
}

type Seen = { piece: number; delivery: number; after: boolean };

/**
 * Messages published before an outage and held unacknowledged by their handlers, a group whose
 * only member left before it, and a broadcast subscriber; then `outage` takes the server down
 * and brings it back. Afterwards the held messages come again, new durable messages and
 * broadcasts reach the same subscriptions, and the absent group finds its messages waiting.
 */
async function survivesOutage(outage: () => Promise<void>): Promise<Seen[]> {
  const space = nats.space();
  const subscriber = await nats.bus(space);
  const publisher = await nats.bus(space);
  const ih = randomInfoHash();
  const hold = gate();
  const seen = new Inbox<Seen>();
  // Deliveries before the server is back hang (they are never acknowledged); later ones succeed.
  // The flag flips only once the old server is gone, so an "after" delivery comes from the new one.
  let after = false;
  try {
    await subscriber.subscribe(
      "piece_staged",
      ih,
      async (p, d) => {
        const now = after;
        seen.push({ piece: p.piece, delivery: d.redeliveryCount, after: now });
        if (!now) await hold.promise;
      },
      { group: "writers", ackWaitMs: ACK_WAIT_MS, maxDeliveries: 100 },
    );
    const absent = await subscriber.subscribe("piece_staged", ih, () => {}, { group: "late", ackWaitMs: ACK_WAIT_MS });
    await absent.unsubscribe();
    const broadcasts = new Inbox<number>();
    await subscriber.subscribe("piece_stored", ih, (p) => broadcasts.push(p.piece));

    for (let piece = 0; piece < 3; piece++) await publisher.publish("piece_staged", verified(ih, piece));
    await seen.until((items) => new Set(items.map((s) => s.piece)).size === 3, "the first delivery of pieces 0-2");

    await outage();
    after = true;

    await seen.until(
      (items) => [0, 1, 2].every((piece) => items.some((s) => s.after && s.piece === piece)),
      "pieces 0-2 again after the outage",
      RECOVERY_DEADLINE_MS,
    );
    await publishOnceUp(publisher, (b) => b.publish("piece_staged", verified(ih, 3)), "a durable publish after the outage");
    await seen.until((items) => items.some((s) => s.after && s.piece === 3), "piece 3, published after the outage", RECOVERY_DEADLINE_MS);
    // A broadcast sent before the subscriber's connection is back is lost (core NATS), so the
    // publisher repeats it, as a periodic broadcast would, until one arrives.
    await publishOnceUp(
      publisher,
      async (b) => {
        await b.publish("piece_stored", stored(ih, 9));
        await broadcasts.count(1, "a broadcast after the outage", 200);
      },
      "a broadcast to arrive after the outage",
    );
    const late = new Inbox<number>();
    await subscriber.subscribe("piece_staged", ih, (p) => late.push(p.piece), { group: "late", ackWaitMs: ACK_WAIT_MS });
    await late.until((items) => [0, 1, 2, 3].every((p) => items.includes(p)), "the absent group's waiting messages", RECOVERY_DEADLINE_MS);
    return seen.items;
  } finally {
    hold.open();
  }
}

describe("NatsBus through nats-server outages", () => {
  it("redelivers unacknowledged durable messages after a restart, with their delivery counts, and keeps every subscription", async () => {
    const seen = await survivesOutage(() => nats.server.restart());
    // A clean stop writes the consumer state, so the count goes on where it was.
    for (const piece of [0, 1, 2]) {
      const again = seen.filter((s) => s.after && s.piece === piece);
      expect(Math.min(...again.map((s) => s.delivery)), `piece ${piece}`).toBeGreaterThan(1);
    }
  });

  it("redelivers after kill -9 and a restart, and fails fast with BACKEND_UNAVAILABLE while the server is down", async () => {
    await survivesOutage(async () => {
      const space = nats.space();
      const bus = await nats.bus(space);
      await nats.server.kill9();
      // The client notices the closed socket on its own; from then on every call fails at once.
      await waitFor(async () => isUnavailable(await errorOf(() => bus.publish("piece_stored", stored(randomInfoHash(), 0)))), {
        timeoutMs: 5_000,
        what: "a broadcast publish to fail as unavailable",
      });
      const started = Date.now();
      expect(isUnavailable(await errorOf(() => bus.publish("piece_staged", verified(randomInfoHash(), 0))))).toBe(true);
      expect(isUnavailable(await errorOf(() => bus.subscribe("piece_stored", randomInfoHash(), () => {})))).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000);
      await nats.server.restart();
    });
  });

  it("fails a durable publish by its deadline when the server stops answering without closing the socket", async () => {
    const bus = await nats.bus({ ...nats.space(), requestTimeoutMs: 1_000 });
    const ih = randomInfoHash();
    // JetStream answers again after the restarts above (on a loaded machine it takes a moment):
    // otherwise the publish below fails at once for that reason, not by its deadline.
    await waitFor(async () => (await errorOf(() => bus.publish("piece_staged", verified(ih, 1)))) === undefined, {
      timeoutMs: 15_000,
      what: "a durable publish to succeed",
    });
    const pid = nats.server.pid;
    process.kill(pid, "SIGSTOP");
    let err: unknown;
    const started = Date.now();
    try {
      err = await errorOf(() => bus.publish("piece_staged", verified(ih, 0)));
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const tookMs = Date.now() - started;
    expect(isUnavailable(err)).toBe(true);
    expect(tookMs).toBeGreaterThanOrEqual(900);
    expect(tookMs).toBeLessThan(5_000);
  });

  it("throws BACKEND_UNAVAILABLE once closed, and closing twice is harmless", async () => {
    const bus = await nats.bus(nats.space());
    await bus.close();
    expect(isUnavailable(await errorOf(() => bus.publish("piece_stored", stored(randomInfoHash(), 0))))).toBe(true);
    await bus.close();
  });
});

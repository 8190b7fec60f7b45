import { afterEach, describe, expect, it, vi } from "vitest";
import { CoordinationError, MemoryBus, MemoryClaimTable, MemoryJobQueue, type JobResult } from "@shoal/coordination";

// Behaviour the memory adapters promise beyond the port contracts (which packages/contract-tests checks).

const ih = "ab".repeat(20);
const data = { source: { kind: "url" as const, url: "http://127.0.0.1:1/a.torrent" }, destination: "/tmp/x" };

describe("MemoryBus", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("never runs a handler inside publish", async () => {
    const bus = new MemoryBus();
    const seen: number[] = [];
    await bus.subscribe("piece_stored", ih, (p) => void seen.push(p.piece));
    const publishing = bus.publish("piece_stored", { infoHash: ih, piece: 1, attempt: 1 });
    expect(seen).toEqual([]);
    await publishing;
    await bus.drain();
    expect(seen).toEqual([1]);
    await bus.close();
  });

  it("drops a durable message as poison after maxDeliveries and reports each failure", async () => {
    // Only setTimeout is faked: it paces redeliveries, while handlers still run on setImmediate.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const failures: string[] = [];
    const bus = new MemoryBus((err, name) => failures.push(`${name}: ${(err as Error).message}`));
    let deliveries = 0;
    await bus.subscribe(
      "piece_staged",
      ih,
      () => {
        deliveries++;
        throw new Error(`delivery ${deliveries} fails`);
      },
      { group: "writers", maxDeliveries: 2 },
    );
    await bus.publish("piece_staged", { infoHash: ih, piece: 0, attempt: 1, workerId: "w1", peers: [] });
    await bus.drain();
    expect(deliveries).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await bus.drain();
    expect(deliveries).toBe(2);
    await vi.advanceTimersByTimeAsync(60_000);
    await bus.drain();
    expect(deliveries).toBe(2);
    expect(failures).toEqual(["piece_staged: delivery 1 fails", "piece_staged: delivery 2 fails"]);
    await bus.close();
  });

  it("refuses a durable subscription without a group as a broken invariant", async () => {
    const bus = new MemoryBus();
    await expect(bus.subscribe("piece_staged", ih, () => {})).rejects.toMatchObject({ code: "INVARIANT_BROKEN" });
    await bus.close();
  });
});

describe("MemoryJobQueue", () => {
  const result: JobResult = { infoHash: ih, name: "x", files: [], totalBytes: 0, resumedPieces: 0, downloadedBytes: 0, uploadedBytes: 0 };

  it("tries a retryable failure up to its attempts, then fails with the last error", async () => {
    const queue = new MemoryJobQueue(3);
    let calls = 0;
    await queue.process(async () => {
      calls++;
      throw new Error(`attempt ${calls} failed`);
    });
    const id = await queue.add(data);
    await expect(queue.waitUntilFinished(id)).rejects.toThrow("attempt 3 failed");
    expect(calls).toBe(3);
    await queue.close();
  });

  it("tries a job once by default", async () => {
    const queue = new MemoryJobQueue();
    let calls = 0;
    await queue.process(async () => {
      calls++;
      if (calls === 1) throw new Error("first try fails");
      return result;
    });
    await expect(queue.waitUntilFinished(await queue.add(data))).rejects.toThrow("first try fails");
    expect(calls).toBe(1);
    await queue.close();
  });

  it("keeps the first job when a jobId is added twice", async () => {
    const queue = new MemoryJobQueue();
    expect(await queue.add(data, { jobId: "j" })).toBe("j");
    expect(await queue.add({ ...data, destination: "/elsewhere" }, { jobId: "j" })).toBe("j");
    const seen: string[] = [];
    await queue.process(async (d) => {
      seen.push(d.destination);
      return result;
    });
    await queue.waitUntilFinished("j");
    expect(seen).toEqual(["/tmp/x"]);
    await queue.close();
  });

  it("refuses new jobs once closed and unknown job ids", async () => {
    const queue = new MemoryJobQueue();
    await expect(queue.waitUntilFinished("nope")).rejects.toBeInstanceOf(CoordinationError);
    await queue.close();
    await expect(queue.add(data)).rejects.toMatchObject({ code: "QUEUE_CLOSED" });
  });
});

describe("MemoryClaimTable", () => {
  it("treats a lease as lapsed from the instant it ends", async () => {
    let now = 0;
    const table = new MemoryClaimTable(() => now);
    await table.createTorrent(ih, 1, []);
    await table.heartbeat(ih, "w", 100);
    await table.claim(ih, "w", [0], 1);
    now = 99;
    expect(await table.expireWorkers(ih)).toBe(0);
    now = 100;
    expect(await table.expireWorkers(ih)).toBe(1);
  });
});

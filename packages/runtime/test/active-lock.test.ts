import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { silentLogger } from "@shoal/service-kit";
import { startRedisServer, waitFor, type RedisServer } from "@shoal/testkit";
import { ActiveLock } from "../src/active-lock.js";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

function lock(id: string, service: string, onLost: () => void = () => {}): ActiveLock {
  return new ActiveLock({ redisUrl: redis.url, service, instanceId: id, ttlMs: 600, logger: silentLogger(), onLost });
}

describe("ActiveLock", () => {
  it("lets one instance be active; a standby takes over once it closes or dies", async () => {
    const a = lock("a", "writer-1");
    await a.acquire();
    const b = lock("b", "writer-1");
    let bActive = false;
    const bAcquired = b.acquire().then(() => (bActive = true));
    await new Promise((r) => setTimeout(r, 1_500));
    // Renewed past several ttls: still a's.
    expect(bActive).toBe(false);
    await a.close();
    await bAcquired;
    expect(bActive).toBe(true);
    // b dies without closing (its renewals stop): c takes over after the ttl.
    (b as unknown as { timer?: NodeJS.Timeout }).timer && clearInterval((b as unknown as { timer: NodeJS.Timeout }).timer);
    const c = lock("c", "writer-1");
    const started = Date.now();
    await c.acquire();
    expect(Date.now() - started).toBeLessThan(3_000);
    await c.close();
    await b.close();
  });

  it("takes the lock again when Redis lost it (FLUSHALL, a restart past its expiry), rather than stopping the only writer", async () => {
    let lost = 0;
    const a = lock("a", "writer-3", () => lost++);
    await a.acquire();
    const direct = new Redis(redis.url);
    await direct.del("shoal:active:writer-3");
    await waitFor(async () => (await direct.get("shoal:active:writer-3")) === "a", { timeoutMs: 3_000, what: "the lock to be taken again" });
    await redis.restart();
    await new Promise((r) => setTimeout(r, 1_000));
    await waitFor(async () => (await direct.get("shoal:active:writer-3").catch(() => null)) === "a", { timeoutMs: 5_000, what: "the lock after a restart" });
    expect(lost).toBe(0);
    await a.close();
    direct.disconnect();
  });

  it("tells its holder when another instance has taken the lock", async () => {
    let lost = 0;
    const a = lock("a", "writer-2", () => lost++);
    await a.acquire();
    const direct = new Redis(redis.url);
    await direct.set("shoal:active:writer-2", "intruder", "PX", 60_000);
    await waitFor(async () => lost === 1, { timeoutMs: 3_000, what: "the lock to be reported lost" });
    // The intruder's lock is not released by the loser's close.
    await a.close();
    expect(await direct.get("shoal:active:writer-2")).toBe("intruder");
    direct.disconnect();
  });
});

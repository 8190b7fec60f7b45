import { afterEach, describe, expect, it } from "vitest";
import { liveChildCount, respCommand, startRedisServer } from "../src/index.js";
import type { RedisServer } from "../src/index.js";
import { withFakePath } from "./fake-path.js";

describe("redis-server", () => {
  let redis: RedisServer | undefined;
  afterEach(async () => {
    await redis?.stop();
    redis = undefined;
    expect(liveChildCount()).toBe(0);
  });

  it("starts on a free loopback port and round-trips SET and GET over RESP", async () => {
    redis = await startRedisServer();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.port).not.toBe(6379);
    expect(await respCommand(redis.url, ["SET", "greeting", "héllo\r\nworld"])).toBe("OK");
    expect(await respCommand(redis.url, ["GET", "greeting"])).toBe("héllo\r\nworld");
    expect(await respCommand(redis.url, ["GET", "absent"])).toBeNull();
    expect(await respCommand(redis.url, ["INCRBY", "counter", "41"])).toBe(41);
    expect(await respCommand(redis.url, ["CONFIG", "GET", "appendonly"])).toEqual(["appendonly", "no"]);
    expect(await respCommand(redis.url, ["CONFIG", "GET", "save"])).toEqual(["save", ""]);
    await expect(respCommand(redis.url, ["INCR", "greeting"])).rejects.toMatchObject({
      code: "RPC_FAILED",
      message: expect.stringContaining("ERR value is not an integer"),
    });
  });

  it("keeps the data of an append-only server across restart(), on the same port", async () => {
    redis = await startRedisServer({ appendOnly: true });
    const { port, pid, url } = redis;
    await respCommand(url, ["RPUSH", "jobs", "a", "b", "c"]);
    await redis.restart();
    expect(redis.port).toBe(port);
    expect(redis.pid).not.toBe(pid);
    expect(await respCommand(url, ["LRANGE", "jobs", "0", "-1"])).toEqual(["a", "b", "c"]);
  });

  it("starts empty after restart() without append-only", async () => {
    redis = await startRedisServer();
    await respCommand(redis.url, ["SET", "k", "v"]);
    await redis.restart();
    expect(await respCommand(redis.url, ["GET", "k"])).toBeNull();
  });

  it("is unreachable after kill9() and comes back, with its append-only file, on restart()", async () => {
    redis = await startRedisServer({ appendOnly: true });
    const { url, pid } = redis;
    await respCommand(url, ["SET", "before-crash", "kept"]);
    // A clean restart fsyncs the append-only file, so this key is on disk whatever the crash.
    await redis.restart();
    await redis.kill9();
    await expect(respCommand(url, ["PING"])).rejects.toMatchObject({ code: "RPC_FAILED" });
    await redis.restart();
    expect(redis.pid).not.toBe(pid);
    expect(await respCommand(url, ["GET", "before-crash"])).toBe("kept");
    expect(await respCommand(url, ["SET", "after-crash", "1"])).toBe("OK");
  });

  it("names the missing redis-server and the package to install", async () => {
    await withFakePath({}, async () => {
      await expect(startRedisServer()).rejects.toMatchObject({
        code: "MISSING_BINARY",
        message: expect.stringContaining("apt-get install --no-install-recommends redis-server"),
      });
    });
  });

  it("reports a server that exits while starting, with its log", async () => {
    await withFakePath({ "redis-server": 'echo "# Fatal error, can\'t open config file" >&2; exit 1' }, async () => {
      await expect(startRedisServer()).rejects.toMatchObject({
        code: "EARLY_EXIT",
        message: expect.stringMatching(/redis-server 127\.0\.0\.1:\d+ .*exit code 1[\s\S]*can't open config file/),
      });
    });
  });

  it("gives up at the deadline with the last probe's answer and the log", async () => {
    await withFakePath({ "redis-server": 'echo "pretending to start"; exec /bin/sleep 300' }, async () => {
      await expect(startRedisServer({ readyTimeoutMs: 300 })).rejects.toMatchObject({
        code: "TIMEOUT",
        message: expect.stringMatching(/last probe: .*ECONNREFUSED[\s\S]*pretending to start/),
      });
    });
  });
});

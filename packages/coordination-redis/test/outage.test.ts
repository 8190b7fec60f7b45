import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CoordinationError } from "@shoal/coordination";
import { RedisCatalog, RedisClaimTable, RedisUploadLedger, loadLuaScripts } from "@shoal/coordination-redis";
import { freePort, respCommand, waitFor } from "@shoal/testkit";
import { redisPerFile } from "./redis-per-file.js";

// Append-only, so the table's data outlives a crash of the server.
const redis = redisPerFile({ appendOnly: true });
const newInfoHash = () => randomBytes(20).toString("hex");

/**
 * How long a call may take to fail while Redis is unreachable. The adapter gives up after one
 * failed reconnection (under a second on loopback); the rest is room for a loaded CI machine.
 */
const OUTAGE_BOUND_MS = 5_000;

async function failure(call: () => Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const started = Date.now();
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, ms: Date.now() - started };
}

function expectUnavailable({ err, ms }: { err: unknown; ms: number }, op: string, retryable = true): void {
  expect(err, op).toBeInstanceOf(CoordinationError);
  const e = err as CoordinationError;
  expect(e.code, op).toBe("BACKEND_UNAVAILABLE");
  expect(e.retryable, op).toBe(retryable);
  expect(e.context["op"], op).toBe(op);
  expect(ms, `${op} failed after ${ms} ms`).toBeLessThan(OUTAGE_BOUND_MS);
}

/** Whether Redis has written every acknowledged write to the append-only file (a kill -9 keeps the page cache). */
async function aofWritten(url: string): Promise<boolean> {
  const info = String(await respCommand(url, ["INFO", "persistence"]));
  return /^aof_buffer_length:0\r?$/m.test(info) && /^aof_rewrite_in_progress:0\r?$/m.test(info);
}

describe("RedisClaimTable when Redis goes away", () => {
  it("fails fast with BACKEND_UNAVAILABLE while Redis is down, then works again with its data once it is back", async () => {
    const url = redis.server().url;
    const prefix = redis.newPrefix();
    const table = new RedisClaimTable({ url, prefix }, { clock: () => 0 });
    const ledger = new RedisUploadLedger({ url, prefix });
    try {
      const ih = newInfoHash();
      await table.createTorrent(ih, 8, [7]);
      await ledger.beginUpload(ih, "dl/a.bin", "u1");
      await ledger.recordPart(ih, "dl/a.bin", "u1", { partNumber: 1, etag: '"e1"', size: 5 });
      const recorded = await ledger.objects(ih);
      await table.heartbeat(ih, "w", 60_000);
      const claims = await table.claim(ih, "w", [0, 1, 2], 3);
      expect(await table.stage(ih, "w", claims[0]!)).toBe("ok");
      const before = await table.pieces(ih);
      await waitFor(() => aofWritten(url), { timeoutMs: 5_000, what: "the append-only file to hold every write" });

      await redis.server().kill9();
      expectUnavailable(await failure(() => table.counts(ih)), "redis.counts");
      expectUnavailable(await failure(() => table.claim(ih, "w", [3], 1)), "redis.claim");
      expectUnavailable(await failure(() => ledger.recordPart(ih, "dl/a.bin", "u1", { partNumber: 2, etag: '"e2"', size: 5 })), "redis.ledgerRecordPart");

      await redis.server().restart();
      await waitFor(
        () =>
          table.counts(ih).then(
            () => true,
            (e: unknown) => {
              if (e instanceof CoordinationError && e.code === "BACKEND_UNAVAILABLE") return false;
              throw e;
            },
          ),
        { timeoutMs: 10_000, what: "the adapter to reconnect" },
      );
      expect(await table.pieces(ih)).toEqual(before);
      // A restarted server has no scripts cached: this claim goes through NOSCRIPT and EVAL.
      const claimScript = loadLuaScripts().find((s) => s.name === "claimPieces")!;
      const sha = createHash("sha1").update(claimScript.lua).digest("hex");
      expect(await respCommand(url, ["SCRIPT", "EXISTS", sha])).toEqual([0]);
      expect(await table.claim(ih, "w", [3], 1)).toEqual([{ piece: 3, attempt: 1 }]);
      expect(await respCommand(url, ["SCRIPT", "EXISTS", sha])).toEqual([1]);
      expect(await table.counts(ih)).toEqual({ missing: 3, claimed: 3, staged: 1, verified: 0, stored: 1, skipped: 0 });
      // The ledger's records outlived the crash too, and its scripts come back the same way.
      expect(await ledger.objects(ih)).toEqual(recorded);
      await ledger.recordPart(ih, "dl/a.bin", "u1", { partNumber: 2, etag: '"e2"', size: 5 });
      expect((await ledger.objects(ih))[0]!.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    } finally {
      await table.close();
      await ledger.close();
    }
  });

  it("fails a call that was in flight when Redis crashed as soon as the connection drops, and works once Redis is back", async () => {
    const url = redis.server().url;
    // A timeout far beyond the bound, so only the lost connection can end the call in time.
    const commandTimeoutMs = 60_000;
    const table = new RedisClaimTable({ url, prefix: redis.newPrefix(), commandTimeoutMs }, { clock: () => 0 });
    try {
      const ih = newInfoHash();
      await table.createTorrent(ih, 4, []);
      // A busy script on another connection holds the server, so the table's call is sent but
      // not answered when the server dies.
      const busy = respCommand(url, ["EVAL", "local t = redis.call('TIME') repeat until redis.call('TIME')[1] - t[1] >= 2", "0"], {
        timeoutMs: 5_000,
      }).catch(() => undefined);
      // A script holds the server's only thread: a PING that gets no answer shows it is running.
      await waitFor(
        () =>
          respCommand(url, ["PING"], { timeoutMs: 200 }).then(
            () => false,
            () => true,
          ),
        { timeoutMs: 5_000, what: "the busy script to hold the server" },
      );
      const inFlight = failure(() => table.counts(ih));
      await redis.server().kill9();
      await redis.server().restart();
      const outcome = await inFlight;
      expectUnavailable(outcome, "redis.counts");
      await busy;
      expect(await table.counts(ih)).toMatchObject({ missing: 4 });
    } finally {
      await table.close();
    }
  });

  it("fails a call to a hung Redis after commandTimeoutMs, and works once Redis answers again", async () => {
    const server = redis.server();
    const commandTimeoutMs = 500;
    const table = new RedisClaimTable({ url: server.url, prefix: redis.newPrefix(), commandTimeoutMs }, { clock: () => 0 });
    const ih = newInfoHash();
    try {
      await table.createTorrent(ih, 4, []);
      // A stopped process keeps its socket open and never answers: only the timeout ends the call.
      process.kill(server.pid, "SIGSTOP");
      const outcome = await failure(() => table.claim(ih, "w", [0], 1));
      expectUnavailable(outcome, "redis.claim");
      expect(outcome.ms).toBeGreaterThanOrEqual(commandTimeoutMs - 1);
    } finally {
      process.kill(server.pid, "SIGCONT");
    }
    try {
      // The timed-out claim reaches Redis once it runs again; the table stays sound either way.
      await waitFor(async () => (await table.counts(ih)).claimed === 1, { timeoutMs: 5_000, what: "the late claim to land" });
      expect(await table.claim(ih, "w", [1], 1)).toEqual([{ piece: 1, attempt: 1 }]);
    } finally {
      await table.close();
    }
  });

  it("fails fast with BACKEND_UNAVAILABLE when Redis was never reachable", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const table = new RedisClaimTable({ url });
    const catalog = new RedisCatalog({ url });
    const ledger = new RedisUploadLedger({ url });
    try {
      expectUnavailable(await failure(() => table.createTorrent(newInfoHash(), 4, [])), "redis.createTorrent");
      expectUnavailable(await failure(() => catalog.get(newInfoHash())), "redis.catalogGet");
      expectUnavailable(await failure(() => ledger.objects(newInfoHash())), "redis.ledgerObjects");
    } finally {
      await table.close();
      await catalog.close();
      await ledger.close();
    }
  });

  it("refuses calls after close as unavailable, like every adapter of the port", async () => {
    const table = new RedisClaimTable({ url: redis.server().url, prefix: redis.newPrefix() });
    await table.close();
    expectUnavailable(await failure(() => table.counts(newInfoHash())), "redis.counts", true);
    await table.close();
  });
});

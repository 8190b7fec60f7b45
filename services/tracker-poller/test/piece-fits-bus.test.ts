import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encode, type Encodable } from "@shoal/bencode";
import { MemoryBus, MemoryCatalog, MemoryClaimTable, MemoryJobQueue } from "@shoal/coordination";
import { silentLogger } from "@shoal/service-kit";
import { FsObjectStore } from "@shoal/store-fs";
import { pollerConfigSchema, start } from "../src/index.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function torrentWithPieces(pieceLength: number): Buffer {
  const info = new Map<string, Encodable>([
    ["length", pieceLength],
    ["name", Buffer.from("big-pieces.bin")],
    ["piece length", pieceLength],
    ["pieces", createHash("sha1").update(Buffer.alloc(pieceLength)).digest()],
  ]);
  return Buffer.from(encode(new Map<string, Encodable>([["announce", Buffer.from("http://127.0.0.1:1/announce")], ["info", info]])));
}

describe("pieces larger than the bus carries", () => {
  it("fail the job at once, naming the piece size, the limit and the setting to change", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shoal-poller-payload-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    // Like a NATS server with the default max_payload.
    const bus = new MemoryBus(undefined, { maxPayloadBytes: 1024 * 1024 });
    const queue = new MemoryJobQueue();
    const store = new FsObjectStore(dir);
    const poller = await start(pollerConfigSchema.parse({}), {
      queue,
      claims: new MemoryClaimTable(),
      bus,
      store,
      catalog: new MemoryCatalog(),
      logger: silentLogger(),
    });
    cleanup.push(async () => {
      await poller.stop();
      await queue.close();
      await bus.close();
      await store.close();
    });
    const big = await queue.add({ source: { kind: "torrent", base64: torrentWithPieces(4 * 1024 * 1024).toString("base64") }, destination: dir });
    const err = await queue.waitUntilFinished(big).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).toBe("PIECE_TOO_LARGE");
    expect(err?.message).toMatch(/4 MiB pieces.*max_payload is 1 MiB.*at least 5MB/);
  });
});

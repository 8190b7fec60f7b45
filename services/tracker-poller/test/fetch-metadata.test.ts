import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "@shoal/service-kit";
import { startMetadataPeer, type MetadataPeer } from "@shoal/testkit";
import { METADATA_PIECE_BYTES } from "@shoal/wire";
import { MetadataFetch } from "../src/metadata/fetch-metadata.js";
import { PollerError } from "../src/poller-error.js";

// Three and a bit metadata pieces: assembly from several requests, the last one short.
const info = randomBytes(3 * METADATA_PIECE_BYTES + 1234);
const infoHash = createHash("sha1").update(info).digest();
const peers: MetadataPeer[] = [];

afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

async function peer(mode: "honest" | "lie" | "oversize"): Promise<MetadataPeer> {
  const p = await startMetadataPeer({ infoHash, mode, ...(mode === "honest" ? { info } : { size: info.length }) });
  peers.push(p);
  return p;
}

function fetcher(timeoutMs = 10_000): MetadataFetch {
  return new MetadataFetch({ infoHash, peerId: randomBytes(20), maxMetadataBytes: 30 * 1024 * 1024, timeoutMs, signal: new AbortController().signal, logger: silentLogger() });
}

describe("fetching a torrent's metadata from peers (BEP 9)", () => {
  it("assembles the info dict from an honest peer and checks it against the info hash", async () => {
    const honest = await peer("honest");
    const f = fetcher();
    f.addPeers([honest]);
    expect(Buffer.from(await f.result).equals(info)).toBe(true);
    expect(honest.requests()).toBe(4);
  });

  it("throws away a liar's dict, does not ask the liar again, and takes the honest peer's", async () => {
    const liar = await peer("lie");
    const f = fetcher();
    f.addPeers([liar]);
    // The liar alone: its whole dict arrives and fails the hash check before anyone else is known.
    await new Promise((r) => setTimeout(r, 500));
    expect(liar.requests()).toBe(4);
    const honest = await peer("honest");
    f.addPeers([liar, honest]);
    expect(Buffer.from(await f.result).equals(info)).toBe(true);
    // Named again, the liar was not dialled a second time.
    expect(liar.requests()).toBe(4);
  });

  it("a liar and an honest peer at once: the honest dict wins whatever the order of their pieces", async () => {
    const [liar, honest] = [await peer("lie"), await peer("honest")];
    const f = fetcher();
    f.addPeers([liar, honest]);
    expect(Buffer.from(await f.result).equals(info)).toBe(true);
  });

  it("refuses an oversized metadata_size without asking for it, and fails with NO_METADATA naming what peers said", async () => {
    const bloated = await peer("oversize");
    const f = fetcher(1500);
    f.addPeers([bloated]);
    const err = await f.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PollerError);
    expect((err as PollerError).code).toBe("NO_METADATA");
    expect((err as PollerError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/no peer gave the torrent's metadata within 2 s \(1 peer\(s\) found; 127\.0\.0\.1:\d+: the peer announces 536870912 bytes of metadata, over the limit of 31457280\)/);
    expect(bloated.requests()).toBe(0);
  });
});

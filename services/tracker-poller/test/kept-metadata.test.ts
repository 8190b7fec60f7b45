import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { encode } from "@shoal/bencode";
import { MemoryCatalog } from "@shoal/coordination";
import { parseMetainfo } from "@shoal/metainfo";
import { silentLogger } from "@shoal/service-kit";
import { FsMetadataKeeper } from "@shoal/store-fs";
import { startMetadataPeer, type MetadataPeer } from "@shoal/testkit";
import { pollerConfigSchema } from "../src/index.js";
import { resolveMagnet } from "../src/metadata/resolve-magnet.js";

/** An info dict of 20 pieces of 16 KiB, with enough files to need two metadata pieces. */
function makeInfo(name: string): Uint8Array {
  const files = Array.from({ length: 400 }, (_, i) => ({ length: 819, path: [`directory-${i % 5}`, `file-with-a-long-name-${i}.bin`] }));
  return encode({ files, name, "piece length": 16384, pieces: randomBytes(20 * 20) } as never);
}

const info = makeInfo("kept-set");
const infoHashHex = createHash("sha1").update(info).digest("hex");
const config = pollerConfigSchema.parse({ metadataTimeoutSeconds: 3 });
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ dir: string; keeper: FsMetadataKeeper; honest: MetadataPeer; link: string }> {
  const dir = await mkdtemp(join(tmpdir(), "shoal-kept-"));
  const honest = await startMetadataPeer({ infoHash: Buffer.from(infoHashHex, "hex"), mode: "honest", info });
  cleanups.push(() => rm(dir, { recursive: true, force: true }), () => honest.close());
  const link = `magnet:?xt=urn:btih:${infoHashHex}&x.pe=127.0.0.1:${honest.port}&tr=http%3A%2F%2F127.0.0.1%3A1%2Fannounce`;
  return { dir, keeper: new FsMetadataKeeper(dir), honest, link };
}

const resolve = (link: string, keeper: FsMetadataKeeper) =>
  resolveMagnet(link, config, { catalog: new MemoryCatalog(), logger: silentLogger(), keeper }, new AbortController().signal);

describe("a magnet link's metadata kept at the destination", () => {
  it("is written once fetched and verified, and a second run takes it from there without asking any peer", async () => {
    const { dir, keeper, honest, link } = await setup();
    const first = await resolve(link, keeper);
    expect(first.metadataFrom).toBe("peers");
    expect(honest.requests()).toBe(2);
    // A whole .torrent under the info hash's name, nothing else left behind (no temporary file).
    expect(await readdir(dir)).toEqual([`.${infoHashHex}.torrent`]);
    const kept = parseMetainfo(await readFile(keeper.pathOf(infoHashHex)));
    expect(kept.infoHashHex).toBe(infoHashHex);
    expect(kept.announceList).toEqual([["http://127.0.0.1:1/announce"]]);

    const second = await resolve(link, keeper);
    expect(second.metadataFrom).toBe("kept");
    expect(honest.requests()).toBe(2);
    expect(parseMetainfo(second.torrent).infoHashHex).toBe(infoHashHex);
  });

  it("a damaged kept file is ignored: the metadata is fetched again and the file replaced", async () => {
    const { keeper, honest, link } = await setup();
    await resolve(link, keeper);
    const path = keeper.pathOf(infoHashHex);
    const bytes = await readFile(path);
    // One byte of a file name inside the info dict: still a torrent, but not this one.
    const at = bytes.indexOf(Buffer.from("file-with-a-long-name-7"));
    bytes[at] = "F".charCodeAt(0);
    await writeFile(path, bytes);
    const again = await resolve(link, keeper);
    expect(again.metadataFrom).toBe("peers");
    expect(honest.requests()).toBe(4);
    expect(parseMetainfo(await readFile(path)).infoHashHex).toBe(infoHashHex);
  });

  it("a kept file cut short, or another torrent's under this name, is fetched again", async () => {
    const { keeper, honest, link } = await setup();
    const path = keeper.pathOf(infoHashHex);
    await writeFile(path, Buffer.from("d8:announce"));
    expect((await resolve(link, keeper)).metadataFrom).toBe("peers");
    expect(honest.requests()).toBe(2);
    const other = makeInfo("other-set");
    await writeFile(path, Buffer.concat([Buffer.from("d4:info"), other, Buffer.from("e")]));
    expect((await resolve(link, keeper)).metadataFrom).toBe("peers");
    expect(honest.requests()).toBe(4);
    expect((await resolve(link, keeper)).metadataFrom).toBe("kept");
  });

  it("the keeper refuses to read a file past the size it is asked for, and keeps by replacing whole", async () => {
    const { keeper } = await setup();
    await keeper.keep(infoHashHex, new Uint8Array(5000));
    await expect(keeper.load(infoHashHex, 4999)).rejects.toThrow(/holds 5000 bytes, more than metadata may/);
    await keeper.keep(infoHashHex, new Uint8Array(10).fill(7));
    expect(Buffer.from((await keeper.load(infoHashHex, 4999))!)).toEqual(Buffer.alloc(10, 7));
    expect(await keeper.load("ab".repeat(20), 100)).toBeUndefined();
    expect(() => keeper.pathOf("../x")).toThrow(/not an info hash/);
  });
});
